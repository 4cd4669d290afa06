// Generates the whole-document validators of both schema profiles as ajv
// standalone code into dist/spec/validators/, so the runtime does not
// compile the schema at start-up. Run by `npm run build` after tsc.
import { mkdirSync, writeFileSync } from 'node:fs';
import standaloneModule from 'ajv/dist/standalone/index.js';
import { createProfileAjv, profileSchema } from '../dist/spec/schema.js';

const standaloneCode = standaloneModule.default ?? standaloneModule;
const out = new URL('../dist/spec/validators/', import.meta.url);
mkdirSync(out, { recursive: true });
for (const profile of ['strict', 'default']) {
  const ajv = createProfileAjv({ standalone: true });
  const validate = ajv.compile(profileSchema(profile));
  writeFileSync(new URL(`${profile}.cjs`, out), standaloneCode(ajv, validate));
}
console.log('schema validators generated in dist/spec/validators');
