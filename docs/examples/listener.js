// A minimal chibo listener with the official CloudEvents SDK for JavaScript (npm install cloudevents amqplib).
//
// It binds a queue of its own to the topic exchange chibo.events and prints every event it receives, one line
// each ("<type> <id> <source>"), whichever form the message has: one structured event
// (application/cloudevents+json) or a batch of events of one type (application/cloudevents-batch+json, a JSON
// array), which chibo sends for bulk work. The SDK's reader returns an array for a batch.
//
//   CHIBO_AMQP_URL=... [CHIBO_ROUTING_KEY=score.#] [CHIBO_COUNT=N] node docs/examples/listener.js
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
  const channel = await connection.createChannel();
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

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
