// The JavaScript half of the SDK contract tests (tests/partners): feeds events to chibo with the official
// CloudEvents SDK, exactly as a partner's feeder would.
// usage: node feed.js <http|amqp> <binary|structured> < events.json
// env: CHIBO_GATEWAY_URL and CHIBO_TOKEN (http), CHIBO_AMQP_URL (amqp). Prints one JSON line per event.
"use strict";
const { CloudEvent, HTTP } = require("cloudevents");
const amqp = require("amqplib");

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function message(event, mode) {
  return mode === "binary" ? HTTP.binary(event) : HTTP.structured(event);
}

async function overHttp(events, mode) {
  for (const event of events) {
    const { headers, body } = message(event, mode);
    const response = await fetch(`${process.env.CHIBO_GATEWAY_URL}/v1/events`, {
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${process.env.CHIBO_TOKEN}` },
      body,
    });
    const answer = await response.json();
    console.log(JSON.stringify({ id: event.id, status: response.status, ...(answer.results ? answer.results[0] : answer) }));
  }
}

async function overAmqp(events, mode) {
  const connection = await amqp.connect(process.env.CHIBO_AMQP_URL);
  try {
    const channel = await connection.createConfirmChannel();
    for (const event of events) {
      const { headers, body } = message(event, mode);
      const { "content-type": contentType, ...attributes } = headers;
      channel.publish("chibo.ingest", event.type, Buffer.from(body, "utf8"), {
        persistent: true,
        contentType,
        headers: attributes, // the RabbitMQ binding: ce- prefixed headers, as the HTTP binding writes them
      });
      await channel.waitForConfirms();
      console.log(JSON.stringify({ id: event.id, outcome: "published" }));
    }
    await channel.close();
  } finally {
    await connection.close();
  }
}

async function main() {
  const [route, mode] = process.argv.slice(2);
  const events = (await readStdin()).map((raw) => new CloudEvent(raw));
  await (route === "http" ? overHttp(events, mode) : overAmqp(events, mode));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
