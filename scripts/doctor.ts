/** `npm run doctor`: see `npm run doctor -- --help` (option table in scripts/lib/commands.ts) and docs/doctor.md. */
import { main } from './lib/cli.ts';
import { doctorCommand } from './lib/commands.ts';
import { runDoctorCommand } from './lib/doctor.ts';

await main(doctorCommand, (values, { ui, signal }) => runDoctorCommand(values, { ui, signal }));
