#!/usr/bin/env python3
"""Generates SMS-DELIVER PDUs with python-gammu (an independent implementation) for the differential test.

Used by tests/gammu_differential.rs, which runs this script and compares simrelay-pdu's decoding with gammu's
decoding of the same PDUs. Prints one JSON object per message:

  {"case": n, "kind": "...", "text": <the text given to gammu>, "sender": ..., "pdus": [hex, ...],
   "gammu": [{"number": ..., "text": ..., "datetime": RFC 3339, "udh": hex}, ...]}  (one entry per part)

After the generated messages come a few hand-built ones in national shift tables ("kind": "national"), which
gammu does not implement: for those the expected text is the one TS 23.038 gives, and gammu's is reported.

gammu's encoder ignores the time zone of DateTime (it always writes 00), so the script writes a random zone
(quarter hours, negative ones included) into the TP-SCTS octet and lets gammu's *decoder* read it back:
time zones are compared decoder against decoder.

Exit status 3 means python-gammu is not installed (pip install python-gammu==3.5.1).
"""

import argparse
import datetime
import json
import random
import sys

try:
    import gammu
except ImportError:
    print("python-gammu is not installed: pip install python-gammu==3.5.1", file=sys.stderr)
    sys.exit(3)

GSM_BASIC = (
    "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà\n"
)
GSM_EXT = "^{}\\[~]|€"
WORDS = ["Your", "code", "is", "verification", "OTP", "bank", "login", "Do", "not", "share", "valid", "for",
         "minutes", "G-", "PIN", "Ihr", "Bestätigungscode", "lautet", "Código", "ÆØÅ", "€5", "{x}"]
SCRIPTS = {
    "cyrillic": "Ваш код подтверждения никому не сообщайте",
    "greek": "Ο κωδικός σας είναι έγκυρος για λεπτά",
    "cjk": "您的验证码是请勿泄露給他人認証コードは",
    "arabic": "رمز التحقق الخاص بك هو لا تشاركه",
    "hindi": "आपका सत्यापन कोड है किसी के साथ साझा न करें",
    "hebrew": "קוד האימות שלך הוא",
    "thai": "รหัสยืนยันของคุณคือ",
    "emoji": "😀🎉🔐✅👍🏽🇩🇪❤️‍🔥🧑‍💻𝄞",
}


def gsm_text(rng, n, ext=False):
    alphabet = GSM_BASIC + (GSM_EXT if ext else "")
    words = [w for w in WORDS if all(c in alphabet for c in w)]
    out = []
    while len(out) < n:
        if rng.random() < 0.5:
            out.append(rng.choice(words) + " ")
        else:
            out.append(rng.choice(alphabet))
    return "".join(out)[:n]


def unicode_text(rng, n):
    pools = list(SCRIPTS.values()) + [GSM_BASIC]
    out = []
    while len(out) < n:
        pool = rng.choice(pools)
        out.extend(rng.choice(pool) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.3:
            out.append(str(rng.randint(0, 999999)))
    return "".join(out)[:n]


def sender(rng):
    r = rng.random()
    if r < 0.5:
        return "+" + str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(rng.randint(7, 13)))
    if r < 0.7:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(3, 10)))
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(chars) for _ in range(rng.randint(2, 11)))


def clean(s):
    # gammu may hand back lone surrogates (a pair split across parts); JSON cannot carry them.
    return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def pack(header, septets):
    """Packs septets after a user data header, starting at the next septet boundary."""
    start = (len(header) * 8 + 6) // 7
    value = int.from_bytes(bytes(header), "little")
    for i, septet in enumerate(septets):
        value |= septet << (7 * (start + i))
    return start + len(septets), value.to_bytes(((start + len(septets)) * 7 + 7) // 8, "little")


# Hand-built messages in national shift tables (TS 23.038 Annex A), which gammu does not implement: the
# expected text is the spec's, septet by septet.
NATIONAL = [
    # Turkish locking shift (IEI 0x25, language 1): İ 0x40, ş 0x1D, ç 0x60, ğ 0x0C.
    ("turkish", [0x25, 0x01, 0x01], [0x40, 0x1D, 0x60, 0x69, 0x20, 0x61, 0x0C, 0x61, 0x60], "İşçi ağaç"),
    # Spanish single shift (IEI 0x24, language 2): Ú is ESC 0x55, ó is ESC 0x6F.
    ("spanish", [0x24, 0x01, 0x02], [0x1B, 0x55, 0x6E, 0x69, 0x63, 0x1B, 0x6F], "Únicó"),
    # Hindi locking and single shift (language 6): नमस्ते, then ESC 0x1C = digit zero.
    ("hindi", [0x24, 0x01, 0x06, 0x25, 0x01, 0x06], [0x2F, 0x42, 0x4C, 0x5F, 0x27, 0x59, 0x20, 0x1B, 0x1C],
     "नमस्ते ०"),
]


def national_cases():
    for name, elements, septets, text in NATIONAL:
        header = [len(elements)] + elements
        udl, ud = pack(header, septets)
        pdu = bytes([0x00, 0x40, 0x03, 0x81, 0x21, 0xF3, 0x00, 0x00, 0x52, 0x11, 0x03, 0x01, 0x00, 0x00, 0x00, udl]) + ud
        d = gammu.DecodePDU(pdu, True)
        print(json.dumps({"case": "national-" + name, "kind": "national", "text": text, "pdus": [pdu.hex().upper()],
                          "gammu": [{"number": d["Number"], "text": clean(d["Text"]), "coding": d["Coding"],
                                     "datetime": d["DateTime"].isoformat(),
                                     "udh": bytes(d["UDH"]["Text"]).hex().upper()}]}, ensure_ascii=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    # The message class comes from a stream of its own, so adding it left every other choice as it was.
    class_rng = random.Random(args.seed + 1)
    kinds = ["gsm7", "gsm7_ext", "gsm7_long", "gsm7_long16", "ucs2", "ucs2_long", "ucs2_long16", "emoji_long"]
    for case in range(args.count):
        kind = kinds[case % len(kinds)]
        long = "long" in kind
        n = rng.randint(161, 700) if long else rng.randint(1, 160)
        if kind.startswith("gsm7"):
            text = gsm_text(rng, n, ext=(kind != "gsm7"))
            unicode = False
        elif kind == "emoji_long":
            text = "".join(rng.choice(SCRIPTS["emoji"]) for _ in range(rng.randint(40, 200)))
            unicode = True
        else:
            text = unicode_text(rng, rng.randint(1, 70) if not long else n)
            unicode = True
        entry = "ConcatenatedTextLong16bit" if kind.endswith("16") else "ConcatenatedTextLong"
        klass = class_rng.choice([-1, -1, 0, 1, 2, 3])
        parts = gammu.EncodeSMS({"Class": klass, "Unicode": unicode, "Entries": [{"ID": entry, "Buffer": text}]})
        number = sender(rng)
        when = datetime.datetime(rng.randint(2000, 2089), rng.randint(1, 12), rng.randint(1, 28),
                                 rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
        quarters = rng.randint(-48, 56)
        tz_octet = ((abs(quarters) % 10) << 4) | (abs(quarters) // 10) | (0x08 if quarters < 0 else 0)
        pdus, decoded = [], []
        for part in parts:
            part = dict(part)
            part["SMSC"] = {"Location": 0, "Number": "+447785016005", "Validity": "NA", "Format": "Text",
                            "Name": "", "DefaultNumber": ""}
            part["Number"] = number
            part["Type"] = "Deliver"
            part["DateTime"] = when
            pdu = bytearray(gammu.EncodePDU(part, "Deliver"))
            # SMSC field, first octet, sender (length in digits), PID, DCS, then the 7-octet SCTS.
            at = 1 + pdu[0] + 1
            at += 2 + (pdu[at] + 1) // 2 + 2
            assert pdu[at + 6] == 0, "gammu wrote a time zone"
            pdu[at + 6] = tz_octet
            d = gammu.DecodePDU(bytes(pdu), True)
            pdus.append(bytes(pdu).hex().upper())
            decoded.append({
                "number": d["Number"],
                "text": clean(d["Text"]),
                "coding": d["Coding"],
                "datetime": d["DateTime"].isoformat(),
                "udh": bytes(d["UDH"]["Text"]).hex().upper(),
                "class": d["Class"],
            })
        print(json.dumps({"case": case, "kind": kind, "text": text, "sender": number, "pdus": pdus,
                          "gammu": decoded}, ensure_ascii=True))
    national_cases()


if __name__ == "__main__":
    main()
