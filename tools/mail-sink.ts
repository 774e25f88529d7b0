/**
 * A local SMTP sink for development (`npm run mail-sink`): accepts every message on
 * 127.0.0.1:2525 (or `--port`) without authentication and prints its recipients, subject and text
 * to stdout. Point Tessera at it with `TESSERA_SMTP_URL=smtp://127.0.0.1:2525`. Never expose it:
 * it is a development tool, and it prints the one-time codes it receives.
 */
import { simpleParser } from 'mailparser';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';

const { values } = parseArgs({ options: { port: { type: 'string', default: '2525' } } });
const port = Number(values.port);

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onData(stream, _session, done) {
    simpleParser(stream)
      .then((mail) => {
        const to = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? '');
        process.stdout.write(`--- mail to ${to}\nSubject: ${mail.subject ?? ''}\n\n${(mail.text ?? '').trim()}\n\n`);
        done();
      })
      .catch(done);
  },
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`SMTP sink listening on smtp://127.0.0.1:${port}\n`));
