// A minimal chibo feeder with the official CloudEvents SDK for JavaScript (npm install cloudevents amqplib).
//
// It sends a cell and its secretary over HTTP (POST /v1/events, binary content mode), then the cell's next
// meeting over RabbitMQ (exchange chibo.ingest, binary mode with ce- headers, publisher confirms) under a source
// registered to no account, and prints what chibo answered over HTTP, that RabbitMQ confirmed the meeting, and
// chibo's outcome of the meeting, which it asks for with RabbitMQ's direct reply-to (replyTo amq.rabbitmq.reply-to)
// and waits for at most CHIBO_REPLY_WAIT seconds (30). Run it against your test system (Node.js 18 or later):
//
//   CHIBO_GATEWAY_URL=https://chibo.example.vn CHIBO_TOKEN=... CHIBO_AMQP_URL=amqp://partner:secret@broker/ \
//   CHIBO_COMMITTEE=<your committee id> node docs/examples/feeder.js
"use strict";
const { randomUUID } = require("node:crypto");
const { CloudEvent, HTTP } = require("cloudevents");
const amqp = require("amqplib");

const SOURCE = "urn:example:handbook"; // names your system; (source, id) identifies an event for ever
// A source registered to your integration account is that account's alone: an event under it from the AMQP route is
// rejected (source_of_another_account). The AMQP route sends under a source registered to no account.
const AMQP_SOURCE = "urn:example:e-office";
const { CHIBO_GATEWAY_URL, CHIBO_TOKEN, CHIBO_AMQP_URL, CHIBO_COMMITTEE } = process.env;
const REPLY_WAIT = Number(process.env.CHIBO_REPLY_WAIT || 30); // seconds

function event(type, data, source = SOURCE) {
  // a fresh id; keep it if you must resend (a resend is then a harmless duplicate)
  return new CloudEvent({ id: randomUUID(), source, type, datacontenttype: "application/json", data });
}

async function main() {
  const suffix = randomUUID().slice(0, 6);
  const cell = `cell-${suffix}`;
  const sent = [
    event("org.unit.upserted.v1", {
      id: cell, name: "Chi bộ tổ dân phố 9", kind: "cell", parent_id: CHIBO_COMMITTEE, category: "residential",
    }),
    event("member.upserted.v1", {
      id: `member-${suffix}`, full_name: "Trần Văn Bình", cell_id: cell, status: "official", role: "secretary",
    }),
  ];
  for (const ce of sent) {
    const { headers, body } = HTTP.binary(ce); // ce-* headers, the data as the JSON body
    const response = await fetch(`${CHIBO_GATEWAY_URL}/v1/events`, {
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${CHIBO_TOKEN}` },
      body,
    });
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    console.log(`http ${ce.type} ${ce.id}: ${outcomeOf(await response.json())}`);
  }

  const starts = new Date(Date.now() + 7 * 24 * 3600 * 1000);
  starts.setUTCHours(12, 30, 0, 0); // 19:30 in Vietnam (+07:00)
  const meeting = event("meeting.scheduled.v1", {
    meeting_id: `meeting-${suffix}`, cell_id: cell, kind: "regular", starts_at: starts.toISOString(),
    location: "Nhà văn hóa tổ dân phố 9", agenda: ["Sinh hoạt chi bộ thường kỳ"],
  }, AMQP_SOURCE);
  const { headers, body } = HTTP.binary(meeting);
  const { "content-type": contentType, ...attributes } = headers; // RabbitMQ binding: ce-* headers
  const connection = await amqp.connect(CHIBO_AMQP_URL);
  try {
    const channel = await connection.createConfirmChannel();
    // chibo's answer comes by direct reply-to: consume the pseudo-queue (no acks) on the channel that publishes
    let answered;
    const answer = new Promise((resolve) => { answered = resolve; });
    await channel.consume("amq.rabbitmq.reply-to", (reply) => {
      if (reply && reply.properties.correlationId === meeting.id) answered(JSON.parse(reply.content.toString("utf8")));
    }, { noAck: true });
    channel.publish("chibo.ingest", meeting.type, Buffer.from(body, "utf8"), {
      persistent: true, contentType, headers: attributes, mandatory: true,
      // your broker login: RabbitMQ checks it, and a rejection then names you as its sender
      userId: decodeURIComponent(new URL(CHIBO_AMQP_URL).username) || "guest",
      messageId: meeting.id, // the reply's correlationId
      replyTo: "amq.rabbitmq.reply-to", // optional: ask chibo for the outcome
    }); // the routing key is the event's type
    await channel.waitForConfirms();
    console.log(`amqp ${meeting.type} ${meeting.id}: published`);
    let timer;
    const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve(null), REPLY_WAIT * 1000); });
    const reply = await Promise.race([answer, timedOut]);
    clearTimeout(timer);
    const said = reply === null
      ? `no answer within ${REPLY_WAIT} s; resend the same event (a duplicate changes nothing)`
      : outcomeOf(reply);
    console.log(`amqp ${meeting.type} ${meeting.id}: ${said}`);
    await channel.close();
  } finally {
    await connection.close();
  }
}

// one event's outcome as chibo answered it (the body POST /v1/events answers), in a few words
function outcomeOf(answer) {
  if (!answer.results) return `rejected ${answer.code}: ${answer.message}`; // not an event at all: an error answer
  const [result] = answer.results;
  return `${result.outcome} ${result.reason || ""}`.trim();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
