import { defineConfig } from 'tsup'
import { base } from '../../tsup.base'
import { tfjsCoreRegistrations } from './tsup-tfjs-core-registrations'

// tfjs-core's registration files are extensionless ESM that Node cannot load: bundle them, with every tfjs-core module
// they import replaced by the user's tfjs-core (tsup-tfjs-core-registrations.ts), so no second copy of tfjs-core ships.
export default defineConfig({ ...base, noExternal: [/^@tensorflow\/tfjs-core\/dist\//], esbuildPlugins: [tfjsCoreRegistrations()] })
