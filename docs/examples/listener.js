// A minimal chibo listener with the official CloudEvents SDK for JavaScript (npm install cloudevents amqplib).
//
// It binds a queue of its own to the topic exchange chibo.events and prints every event it receives, one line
// each ("<type> <id> <source>"), whichever form the message has: one structured event
// (application/cloudevents+json) or a batch of events of one type (application/cloudevents-batch+json, a JSON
// array), which chibo sends for bulk work. The SDK's reader returns an array for a batch.
//
//   CHIBO_AMQP_URL=... [CHIBO_ROUTING_KEY=score.#] [CHIBO_COUNT=N] node docs/examples/listener.js
//
// A login the broker refuses (a wrong password, or one without a listener's permissions: declaring, binding and
// consuming a server-named queue "amq.gen-..." on chibo.events) ends it with one line on stderr and exit code 2.
"use strict";
const amqp = require("amqplib");
const { HTTP } = require("cloudevents");

const { CHIBO_AMQP_URL, CHIBO_ROUTING_KEY = "#", CHIBO_COUNT = "0" } = process.env;

function eventsOf(message) {
  const headers = { "content-type": message.properties.contentType || "application/cloudevents+json" };
  const read = HTTP.toEvent({ headers, body: message.content.toString("utf8") });
  return Array.isArray(read) ? read : [read]; // a batch, or the one event
}

async function main() {
  const connection = await amqp.connect(CHIBO_AMQP_URL);
  connection.on("error", () => {}); // a refusal rejects the call that caused it, handled below
  const channel = await connection.createChannel();
  channel.on("error", () => {});
  const { queue } = await channel.assertQueue("", { exclusive: true }); // a queue of your own
  await channel.bindQueue(queue, "chibo.events", CHIBO_ROUTING_KEY);
  console.log(`listening on chibo.events for ${CHIBO_ROUTING_KEY}`);
  const limit = Number(CHIBO_COUNT);
  let seen = 0;
  await new Promise((resolve, reject) => {
    channel.consume(queue, (message) => {
      try {
        for (const event of eventsOf(message)) {
          console.log(`${event.type} ${event.id} ${event.source}`);
          seen += 1;
        }
        channel.ack(message); // once every event of it is handled
        if (limit && seen >= limit) resolve();
      } catch (error) {
        reject(error);
      }
    });
  });
  await connection.close();
}

// The one line that tells why the broker refused this login (AMQP reply code 403, ACCESS_REFUSED), else null.
function refusal(error) {
  const said = String((error && error.message) || error);
  if (!/ACCESS[-_]REFUSED|\b403\b/.test(said)) return null;
  const what = /Handshake|login|authenticat/i.test(said)
    ? "the broker refused this login (wrong user or password?)"
    : "this login may not declare, bind or consume a queue of its own on chibo.events (a permission problem)";
  const quoted = /with message "([^"]*)"/.exec(said); // the broker's own words
  const reason = (quoted ? quoted[1] : said.split("\n")[0]).replace(/\.+$/, "");
  return (
    `listener: ${what}: ${reason}; use a login with a listener's permissions` +
    " (on the demo of `make up`: CHIBO_AMQP_URL_LISTEN of var/broker-credentials.env)"
  );
}

main().catch((error) => {
  const line = refusal(error);
  console.error(line || error);
  process.exit(line ? 2 : 1);
});
