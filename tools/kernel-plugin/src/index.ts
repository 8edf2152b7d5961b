export { createNodes, createNodesV2, KernelPluginOptions } from './plugins/plugin';
