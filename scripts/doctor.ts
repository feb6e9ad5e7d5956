/** `npm run doctor`: see `npm run doctor -- --help` (option table in scripts/lib/command-line/commands.ts) and docs/doctor.md. */
import { main } from './lib/command-line/cli.ts';
import { doctorCommand } from './lib/command-line/commands.ts';
import { runDoctorCommand } from './lib/doctor/doctor.ts';

void main(doctorCommand, (values, { ui, signal }) => runDoctorCommand(values, { ui, signal }));
