// Reads messages taken off chibo.events with the official CloudEvents SDK for JavaScript (its HTTP binding's
// reader detects binary, structured and batch content modes from the headers, which the RabbitMQ binding shares).
// usage: node read.js < messages.json   ([{"content_type", "headers", "body"}]); prints the events read, per message.
"use strict";
const { HTTP } = require("cloudevents");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const messages = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const read = messages.map(({ content_type: contentType, headers, body }) => {
    const events = HTTP.toEvent({ headers: { ...headers, "content-type": contentType }, body });
    return (Array.isArray(events) ? events : [events]).map((event) => event.toJSON());
  });
  process.stdout.write(JSON.stringify(read));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
