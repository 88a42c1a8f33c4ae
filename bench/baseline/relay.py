"""The SMS relay most tutorials build: the baseline SimRelay is measured against.

Flask-SocketIO serves the clients; a serial thread (pyserial) reads the modem and puts each message on a
queue; a background task wakes every 0.1 s, drains the queue and emits each message to every client. That
polling loop is the design's defining trait (the serial thread may not emit itself, because Flask-SocketIO's
emit is not safe from foreign threads in every async mode, so tutorials hand over through a queue).

Two changes from the typical tutorial, both forced by the simulated modem and both in the baseline's favour:
- PDU mode instead of text mode (the simulator only speaks PDU mode), so a small GSM 7-bit/UCS2 decoder is
  included below; decoding one short PDU costs microseconds.
- AT+CNMI=2,2: the modem routes each message straight to the serial line (+CMT with the PDU), so the relay
  needs no AT+CMGR read-back and deletes nothing. SimRelay instead stores, reads, commits to SQLite and
  deletes from the SIM before it broadcasts, which is more work on the path that is timed.

Run: python relay.py --modem /dev/pts/N --port 5000
"""

import argparse
import queue
import threading

import serial
from flask import Flask
from flask_socketio import SocketIO

app = Flask(__name__)
socketio = SocketIO(app, async_mode="threading", cors_allowed_origins="*")
inbox = queue.Queue()

# GSM 03.38 default alphabet (basic table); the extension table is left out, as in most tutorial decoders.
GSM7 = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def unpack_septets(data, count, skip_bits=0):
    """The `count` 7-bit characters packed in `data`, starting `skip_bits` in."""
    out = []
    for i in range(count):
        bit = skip_bits + i * 7
        byte, shift = divmod(bit, 8)
        value = data[byte] >> shift
        if shift > 1 and byte + 1 < len(data):
            value |= data[byte + 1] << (8 - shift)
        out.append(GSM7[value & 0x7F])
    return "".join(out)


def decode_deliver(pdu):
    """Sender and text of an SMS-DELIVER PDU that starts with its SMSC field."""
    i = 1 + pdu[0]
    first = pdu[i]
    i += 1
    digits, toa = pdu[i], pdu[i + 1]
    i += 2
    octets = (digits + 1) // 2
    raw = pdu[i:i + octets]
    i += octets
    if toa & 0x70 == 0x50:
        sender = unpack_septets(raw, digits * 4 // 7)
    else:
        sender = "".join(f"{b & 0x0F}{b >> 4}" for b in raw)[:digits]
        if toa & 0x70 == 0x10:
            sender = "+" + sender
    dcs = pdu[i + 1]
    i += 2 + 7  # PID, DCS, service-centre time stamp
    udl = pdu[i]
    ud = pdu[i + 1:]
    header = ud[0] + 1 if first & 0x40 else 0
    if dcs & 0x0C == 0x08:
        text = ud[header:udl].decode("utf-16-be", errors="replace")
    else:
        skip = (header * 8 + 6) // 7 * 7
        text = unpack_septets(ud, udl - skip // 7, skip)
    return {"sender": sender, "text": text}


def serial_reader(port):
    """Reads the modem forever and queues every message it routes to us."""
    ser = serial.Serial(port, 115200, timeout=1)
    for command in (b"ATE0\r", b"AT+CMGF=0\r", b"AT+CNMI=2,2,0,0,0\r"):
        ser.write(command)
        while ser.readline().strip() not in (b"OK", b"ERROR"):
            pass
    expecting_pdu = False
    while True:
        line = ser.readline().strip()
        if not line:
            continue
        if line.startswith(b"+CMT:"):
            expecting_pdu = True
        elif expecting_pdu:
            expecting_pdu = False
            try:
                inbox.put(decode_deliver(bytes.fromhex(line.decode("ascii"))))
            except (ValueError, IndexError) as e:
                print("cannot decode", line, e, flush=True)


def emitter():
    """The tutorial's background task: poll the queue every 0.1 s and emit what is there."""
    while True:
        socketio.sleep(0.1)
        while True:
            try:
                message = inbox.get_nowait()
            except queue.Empty:
                break
            socketio.emit("sms", message)


@app.route("/")
def index():
    return "SMS relay baseline"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--modem", required=True)
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    threading.Thread(target=serial_reader, args=(args.modem,), daemon=True).start()
    socketio.start_background_task(emitter)
    socketio.run(app, host="127.0.0.1", port=args.port, allow_unsafe_werkzeug=True, log_output=False)


if __name__ == "__main__":
    main()
