#!/usr/bin/env node
// Entry of the `k3s-burst` command. The CLI is written in TypeScript and loaded through
// tsx's ESM loader so that `npx k3s-burst …` works on a fresh clone without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
