#!/usr/bin/env python3
"""timed_receiver.py - an SMTP receiver that says when each message came.

  timed_receiver.py ADDR PORT LOG [HOLD]

Answers EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT; after a message's
final dot it appends "arrived TIME SUBJECT" to LOG (time.time(), the moment
the whole message is in), waits HOLD seconds (default 0: a receiver that
delays, holding the sender's connection) and only then answers 250 and
appends "released TIME SUBJECT".  Used by tests/nspawn.sh (a slow backlog)
and bench/latency (arrival times); stopped by its PID."""
import asyncio
import sys
import time


async def session(reader, writer, log, hold):
    def say(line):
        writer.write(line.encode() + b"\r\n")

    say("220 timed.receiver ESMTP")
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb == b"DATA":
            say("354 go ahead")
            await writer.drain()
            subject = ""
            while True:
                data = await reader.readline()
                if not data or data == b".\r\n":
                    break
                if data.lower().startswith(b"subject:") and not subject:
                    subject = data[8:].strip().decode("ascii", "replace")
            note(log, "arrived", subject)
            if hold:
                await asyncio.sleep(hold)
            say("250 2.0.0 ok")
            await writer.drain()
            note(log, "released", subject)
            continue
        if verb == b"QUIT":
            say("221 bye")
            await writer.drain()
            break
        say("250 ok")
        await writer.drain()
    writer.close()


def note(log, what, subject):
    with open(log, "a") as f:
        f.write(f"{what} {time.time():.6f} {subject}\n")


async def main():
    addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    hold = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    server = await asyncio.start_server(lambda r, w: session(r, w, log, hold), addr, port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
