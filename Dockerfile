# naftiko-ts container: build stage compiles, runtime stage carries only
# production dependencies. test/e2e/dockerfile.test.ts runs these steps
# natively (no Docker engine on our machines), so keep to FROM, WORKDIR,
# COPY, RUN, ENV, EXPOSE, USER, ENTRYPOINT and CMD.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts
COPY src ./src
COPY schemas ./schemas
COPY scripts/build-validators.mjs ./scripts/
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
# In a container the adapters must listen on every interface to be
# reachable through the published ports; loopback is the default outside.
ENV NAFTIKO_HOST=0.0.0.0
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schemas ./schemas
COPY capabilities ./capabilities
USER node
EXPOSE 8080 9090
ENTRYPOINT ["node", "dist/main.js"]
CMD ["capabilities/prefect-download.yaml"]
