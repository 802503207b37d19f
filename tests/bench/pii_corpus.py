#!/usr/bin/env python3
"""Generates a labelled PII corpus for tests/bench/pii_accuracy.sh and
pii_speed.sh: one JSON object a line, {"text": ..., "entities": [{"type",
"start", "end"}]}, offsets in code points. Sentences hold names, places,
contacts and numbers with valid checksums (labelled) and look-alikes that
are not PII (unlabelled): failed Luhn digits, bad IBAN and NHS check
digits, SSNs of area 000/666/9xx, octets past 255, version numbers,
prices, order numbers, times, capitalized phrases.

Usage: pii_corpus.py LINES SEED [--text] [--mixed]
  --text: the texts only; --mixed: each line a paragraph, the sentence
  among ordinary prose (as documents, tickets and notes are)
Names and places are drawn from lib/pii-data/ (so PERSON and LOCATION
measure context and boundaries more than list coverage), plus given
names followed by family names that are in no list.
"""
import hashlib
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "lib", "pii-data")


def words(name):
    out = []
    with open(os.path.join(DATA, name + ".txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def cap(w):
    return " ".join(x[:1].upper() + x[1:] for x in w.split(" "))


FIRST = [cap(w) for w in words("first_names")]
LAST = [cap(w) for w in words("surnames") if " " not in w]
PLACES = [cap(w) for w in words("places") if "." not in w]
PLACES = [p for p in PLACES if p.lower() not in set(w.lower() for w in FIRST)]
UNKNOWN_LAST = ["Zyxwu", "Quenby", "Farrowdale", "Okonkwo-Bright", "Vasquell",
                "Thistlewood", "Brannagh", "Kowalczyk", "Ashcombe", "Delacroix"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "example.co.uk",
           "test.example.io"]
R = random.Random()


def luhn_complete(prefix, n):
    d = [int(c) for c in prefix] + [R.randint(0, 9) for _ in range(n - len(prefix) - 1)]
    for check in range(10):
        digits = d + [check]
        s = 0
        for i, x in enumerate(reversed(digits)):
            if i % 2 == 1:
                x *= 2
                if x > 9:
                    x -= 9
            s += x
        if s % 10 == 0:
            return "".join(map(str, digits))


def card(valid=True):
    prefix, n = R.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)])
    c = luhn_complete(prefix, n)
    if not valid:
        c = c[:-1] + str((int(c[-1]) + R.randint(1, 9)) % 10)
    if n == 16 and R.random() < 0.6:
        sep = R.choice([" ", "-"])
        c = sep.join(c[i:i + 4] for i in range(0, 16, 4))
    return c


def ssn(valid=True):
    if valid:
        area = R.choice([x for x in range(1, 900) if x != 666])
        return "%03d-%02d-%04d" % (area, R.randint(1, 99), R.randint(1, 9999))
    area = R.choice([0, 666, R.randint(900, 999)])
    return "%03d-%02d-%04d" % (area, R.randint(1, 99), R.randint(1, 9999))


IBAN_LEN = {"GB": 22, "DE": 22, "FR": 27, "ES": 24, "NL": 18, "IT": 27, "BE": 16}


def iban(valid=True):
    cc = R.choice(list(IBAN_LEN))
    n = IBAN_LEN[cc]
    if cc in ("GB", "NL"):
        bban = "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + \
            "".join(str(R.randint(0, 9)) for _ in range(n - 8))
    else:
        bban = "".join(str(R.randint(0, 9)) for _ in range(n - 4))
    num = "".join(str(int(c, 36)) for c in bban + cc + "00")
    check = 98 - int(num) % 97
    if not valid:
        check = (check + R.randint(1, 50)) % 97 + 2
        if check == 98 - int(num) % 97:
            check = (check % 97) + 1
    s = cc + "%02d" % check + bban
    if R.random() < 0.5:
        s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s


def nhs(valid=True):
    while True:
        d = [R.randint(0, 9) for _ in range(9)]
        s = sum(x * (10 - i) for i, x in enumerate(d))
        c = 11 - s % 11
        if c == 11:
            c = 0
        if c != 10:
            break
    if not valid:
        c = (c + R.randint(1, 9)) % 10
    t = "".join(map(str, d)) + str(c)
    return t[:3] + " " + t[3:6] + " " + t[6:]


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58check(version):
    payload = bytes([version]) + bytes(R.getrandbits(8) for _ in range(20))
    chk = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(payload + chk, "big")
    s = ""
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    pad = len(payload + chk) - len((payload + chk).lstrip(b"\0"))
    return "1" * pad + s


BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def polymod(values):
    gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def bech32():
    hrp = "bc"
    data = [0] + [R.randint(0, 31) for _ in range(32)]
    exp = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
    pm = polymod(exp + data + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + chk)


def crypto(valid=True):
    a = R.choice([lambda: b58check(0), lambda: b58check(5), bech32])()
    if not valid:
        i = R.randint(5, len(a) - 2)
        alpha = BECH if a.startswith("bc1") else B58
        a = a[:i] + R.choice([c for c in alpha if c != a[i]]) + a[i + 1:]
    return a


def area():
    """A North American area code: 2-9, then not "11" (N11 codes are
    services, not areas)."""
    while True:
        a = R.randint(200, 999)
        if a % 100 != 11:
            return a


def phone():
    k = R.random()
    b, c = R.randint(2, 9), R.randint(0, 9999)
    if k < 0.3:
        return "(%d) %d%02d-%04d" % (area(), b, R.randint(0, 99), c)
    if k < 0.55:
        return "%d-%d%02d-%04d" % (area(), b, R.randint(0, 99), c)
    if k < 0.8:
        return "+%d %d %04d %04d" % (R.choice([44, 33, 49, 34, 39]), R.randint(1, 99),
                                     R.randint(1000, 9999), R.randint(0, 9999))
    return "0%d%02d %03d %04d" % (R.randint(1, 9), R.randint(0, 99), R.randint(100, 999),
                                   R.randint(0, 9999))


def ip(valid=True):
    if not valid:
        return "%d.%d.%d.%d" % (R.randint(256, 999), R.randint(0, 255), R.randint(0, 255),
                                R.randint(0, 255))
    if R.random() < 0.2:
        return "2001:db8:%x:%x::%x" % (R.randint(1, 0xffff), R.randint(1, 0xffff),
                                       R.randint(1, 0xffff))
    return "%d.%d.%d.%d" % (R.randint(1, 223), R.randint(0, 255), R.randint(0, 255),
                            R.randint(1, 254))


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def date():
    y, m, d = R.randint(1950, 2030), R.randint(1, 12), R.randint(1, 28)
    return R.choice(["%04d-%02d-%02d" % (y, m, d), "%02d/%02d/%04d" % (d, m, y),
                     "%s %d, %d" % (MONTHS[m - 1], d, y), "%d %s %d" % (d, MONTHS[m - 1], y)])


def mac():
    sep = R.choice([":", "-"])
    return sep.join("%02X" % R.randint(0, 255) for _ in range(6))


def email(first, last):
    return "%s.%s@%s" % (first.lower(), last.lower().replace("'", ""), R.choice(DOMAINS))


class Line:
    def __init__(self):
        self.parts = []
        self.ents = []
        self.pos = 0

    def t(self, s):
        self.parts.append(s)
        self.pos += len(s)
        return self

    def e(self, typ, s):
        self.ents.append({"type": typ, "start": self.pos, "end": self.pos + len(s)})
        return self.t(s)

    def done(self):
        return {"text": "".join(self.parts), "entities": self.ents}


def person(L):
    f = R.choice(FIRST)
    last = R.choice(UNKNOWN_LAST) if R.random() < 0.1 else R.choice(LAST)
    return f, last


UNLISTED_FIRST = ["Xavi", "Oluwaseun", "Thandiwe", "Brynja", "Kalani", "Ignatius",
                  "Saoirse", "Bartholomew", "Ximena", "Anouk"]
UNLISTED_PLACES = ["Tromsø", "Ouagadougou", "Kalamazoo", "Timbuktu", "Llandudno",
                   "Ushuaia", "Hobart", "Tartu"]


def hard(L, f, last):
    """Cases the lists or the shapes do not cover, labelled all the same:
    names and places in no list, names in lower case, capitalized words
    that are neither, a number that is only a quantity."""
    k = R.randrange(6)
    if k == 0:
        L.t("My name is ").e("PERSON", R.choice(UNLISTED_FIRST) + " " + R.choice(UNKNOWN_LAST)).t(".")
    elif k == 1:
        L.t("Yesterday ").e("PERSON", f.lower() + " " + last.lower()).t(" forgot the keys.")
    elif k == 2:
        L.t("They moved to ").e("LOCATION", R.choice(UNLISTED_PLACES)).t(" last year.")
    elif k == 3:
        L.t("Will May bring the Grant Report to Reading on Monday?")
    elif k == 4:
        L.t("We shipped %d units and %d spare parts." % (R.randint(10**9, 10**10 - 1),
                                                      R.randint(100, 999)))
    else:
        L.t("Reach me on ").e("PHONE_NUMBER", "%d.%d%02d.%04d" % (
            area(), R.randint(2, 9), R.randint(0, 99), R.randint(0, 9999))).t(" anytime.")


def sentence():
    L = Line()
    k = R.randrange(24)
    if R.random() < 0.08:
        f, last = person(L)
        hard(L, f, last)
        return L.done()
    f, last = person(L)
    if k == 0:
        L.t("My name is ").e("PERSON", f + " " + last).t(" and my email is ").e(
            "EMAIL_ADDRESS", email(f, last)).t(".")
    elif k == 1:
        L.e("PERSON", f + " " + last).t(" lives in ").e("LOCATION", R.choice(PLACES)).t(
            " and works from home.")
    elif k == 2:
        L.t("Please call ").e("PHONE_NUMBER", phone()).t(" before noon.")
    elif k == 3:
        L.t("Card number ").e("CREDIT_CARD", card()).t(" was charged $%d.%02d." % (
            R.randint(1, 999), R.randint(0, 99)))
    elif k == 4:
        L.t("Declined card ").t(card(False)).t(" at checkout; order #%d." % R.randint(1000, 99999))
    elif k == 5:
        L.t("Her SSN is ").e("US_SSN", ssn()).t(" on file.")
    elif k == 6:
        L.t("Invalid SSN ").t(ssn(False)).t(" was rejected.")
    elif k == 7:
        L.t("Wire it to IBAN ").e("IBAN_CODE", iban()).t(" today.")
    elif k == 8:
        L.t("The reference ").t(iban(False)).t(" failed validation.")
    elif k == 9:
        L.t("Login from ").e("IP_ADDRESS", ip()).t(" was blocked; ").t(
            "upgrade to version %d.%d.%d.%d now." % (R.randint(1, 9), R.randint(0, 20),
                                                     R.randint(0, 9), R.randint(0, 99)))
    elif k == 10:
        L.t("Bad address ").t(ip(False)).t(" in the log, build %d.%d.%d." % (
            R.randint(1, 9), R.randint(0, 9), R.randint(0, 99)))
    elif k == 11:
        L.t("Read the docs at ").e("URL", "https://www.example.com/docs/%d?ref=mail" %
                                   R.randint(1, 999)).t(" for more.")
    elif k == 12:
        L.t("The contract was signed on ").e("DATE_TIME", date()).t(".")
    elif k == 13:
        L.t("Device MAC ").e("MAC_ADDRESS", mac()).t(" joined the network.")
    elif k == 14:
        L.t("Send the bitcoin to ").e("CRYPTO", crypto()).t(" please.")
    elif k == 15:
        L.t("The wallet ").t(crypto(False)).t(" is mistyped.")
    elif k == 16:
        L.t("My bank account number is ").e("US_BANK_NUMBER", "%d" % R.randint(10**9, 10**12)).t(".")
    elif k == 17:
        L.t("Passport number ").e("US_PASSPORT", "%09d" % R.randint(10**8, 10**9 - 1)).t(
            " expires soon.")
    elif k == 18:
        L.t("Patient NHS number ").e("UK_NHS", nhs()).t(" was updated.")
    elif k == 19:
        L.t("The NHS line ").t(nhs(False)).t(" is not valid.")
    elif k == 20:
        L.t("Dear ").e("PERSON", f + " " + last).t(", your order of %d items ships from " %
                                                   R.randint(2, 40)).e(
            "LOCATION", R.choice(PLACES)).t(".")
    elif k == 21:
        L.t("The Quick Brown Fox costs $%d,%03d.%02d and Room %d opens at %02d:%02d." % (
            R.randint(1, 9), R.randint(0, 999), R.randint(0, 99), R.randint(100, 999),
            R.randint(0, 23), R.randint(0, 59)))
    elif k == 22:
        L.t("Meeting with Dr. ").e("PERSON", last).t(" in ").e("LOCATION", R.choice(PLACES)).t(
            " next week.")
    else:
        L.t("Ticket %d: contact " % R.randint(1000, 9999)).e(
            "EMAIL_ADDRESS", email(f, last)).t(" or ").e("PHONE_NUMBER", phone()).t(".")
    return L.done()


PROSE = ("the a of to and in is it that for on with as was at by this be "
         "from or have an they which one you had not but what all were when we "
         "there can more if no out so said up its about into than them could "
         "time only new some would other these may then do first any now such "
         "like our over also did most made after well where much through back "
         "years way people report system data pipeline table column value run "
         "order customer service account project team week meeting review "
         "update change release quality check load file record").split()


def prose():
    """An ordinary sentence with no personal data in it."""
    w = [R.choice(PROSE) for _ in range(R.randint(8, 20))]
    w[0] = w[0].capitalize()
    return " ".join(w) + "."


def main():
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    text_only = "--text" in sys.argv
    mixed = "--mixed" in sys.argv
    R.seed(seed)
    out = sys.stdout
    for _ in range(n):
        s = sentence()
        if mixed:
            # A paragraph: the sentence among three of ordinary prose.
            before = " ".join(prose() for _ in range(R.randint(0, 3)))
            after = " ".join(prose() for _ in range(3 - len(before and before.split(". "))))
            shift = len(before) + 1 if before else 0
            for e in s["entities"]:
                e["start"] += shift
                e["end"] += shift
            s["text"] = (before + " " if before else "") + s["text"] + \
                (" " + after if after else "")
        if text_only:
            out.write(s["text"] + "\n")
        else:
            out.write(json.dumps(s, ensure_ascii=False) + "\n")


main()
