import { main } from './main';

/** The `phaselens` executable: runs the CLI and exits with its code. */
void main(process.argv.slice(2)).then((code) => process.exit(code));
