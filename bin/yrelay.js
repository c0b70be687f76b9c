#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx yrelay serve` needs no build step.
import { register } from 'tsx/esm/api'

register()
await import('../server/cli.ts')
