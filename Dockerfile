# One image for every node; SERVICES chooses its role.
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json moleculer.config.ts server.ts ./
COPY services ./services
COPY mixins ./mixins
COPY domain ./domain
COPY lib ./lib
COPY models ./models
COPY deploy ./deploy
COPY types ./types
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The web console, served by the gateway at /
COPY public ./public
# The OpenAPI document npm run openapi generated (answers typed from the handlers), served at /openapi.json
COPY doc/openapi.json ./doc/openapi.json
USER node
EXPOSE 3000
CMD ["node", "dist/server.js"]
