# minictl daemon in a container: for macOS (Docker Desktop) and other hosts where the daemon
# should not run on the host itself. It drives the host's Docker engine through its socket.
#
#   docker build -t minictl .
#   docker run -d --name minictl --privileged --network host \
#     -v /var/run/docker.sock:/var/run/docker.sock -v minictl-data:/root/.minictl minictl
#   docker cp minictl:/root/.kube/config ./minictl.kubeconfig && export KUBECONFIG=$PWD/minictl.kubeconfig
#
# --network host shares the engine VM's network (where pods, service IPs and node networks live);
# --privileged lets the proxy add addresses and NAT rules there.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 busybox-static ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/minictl
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY fixtures ./fixtures
RUN npx tsc -p tsconfig.json && npm prune --omit=dev
ENV MINICTL_HOME=/root/.minictl
EXPOSE 6443
ENTRYPOINT ["node", "bin/minictl"]
CMD ["start", "--foreground", "--port", "6443"]
