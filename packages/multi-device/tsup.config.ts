import { defineConfig } from 'tsup'
import { base } from '../../tsup.base'

// tfjs-core's registration files are extensionless ESM that Node cannot load: bundle them (they share the engine and
// registries with the user's tfjs-core through tfjs's global namespace).
export default defineConfig({ ...base, noExternal: [/^@tensorflow\/tfjs-core\/dist\//] })
