# yrelay relay image: dependencies installed in a build stage, run as the unprivileged node user.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
# The relay runs as JavaScript compiled by esbuild (a runtime dependency): no TypeScript
# loader in the process, which saves it memory and start-up time.
COPY server ./server
COPY shared ./shared
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8787 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The sources too: the dashboard's files, and bin/yrelay.js (the admin commands) runs them.
COPY server ./server
COPY shared ./shared
# The SDK, for the demo page the relay serves at /demo/.
COPY client ./client
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--max-semi-space-size=8", "dist/server/cli.js", "serve"]
