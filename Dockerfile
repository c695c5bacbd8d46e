# PhaseLens service and watcher. Build: docker build -t phaselens .
# Installs from the lockfile only (npm ci --omit=dev); nothing is downloaded at run time:
# the model weights ship in server/models/.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY server/package.json server/tsconfig.json server/
# The root prepare script builds the server; skip it here and build after copying the sources.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY server/src server/src
RUN npm run build --workspace server

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY server/package.json server/
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/server/dist server/dist
COPY server/bin server/bin
COPY server/models server/models
COPY server/assets server/assets
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:3000/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "server/bin/phaselens.js"]
CMD ["serve"]
