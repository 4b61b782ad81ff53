// Run by vite-node-deps.global-setup.ts: starting vite-node is the point, this module has nothing to do.
export {}
