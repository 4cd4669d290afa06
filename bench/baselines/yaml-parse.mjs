// Floor of the validation scenario: read and parse every YAML file of the
// given directories with the `yaml` package, no schema, no checks.
// Prints the number of files parsed; exit code 0.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';

let files = 0;
for (const root of process.argv.slice(2)) {
  const list = statSync(root).isDirectory()
    ? readdirSync(root, { recursive: true })
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(root, f))
    : [root];
  for (const file of list) {
    parseDocument(readFileSync(file, 'utf8'));
    files++;
  }
}
process.stdout.write(`${files} files parsed\n`);
