#!/usr/bin/env python3
"""Fresh labelled samples in the formats of ../shared/data/pii-dev.jsonl.

The scanner was developed against the dev set; this script draws new
samples of the same kinds (new random values, valid check digits, the same
templates and hard negatives) so that accuracy can be checked on rows the
scanner has never seen:

    python3 scan_samples.py SEED ROWS_PER_TEMPLATE > /tmp/sample.jsonl
    ./scan_bench --dev /tmp/sample.jsonl --accuracy-only

`make scan-samples` runs that for a range of seeds. Byte offsets are UTF-8
offsets, as in the dev set. The values are synthetic: Luhn-valid card
numbers with real issuer prefixes, IBANs with correct mod-97 check digits,
random tokens with the real credential prefixes.
"""
import base64
import json
import random
import string
import sys

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
PER = int(sys.argv[2]) if len(sys.argv) > 2 else 60
R = random.Random(SEED)
A62 = string.ascii_letters + string.digits
B64U = A62 + "-_"
SYM = "!%^&$#*"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def rs(alpha, n):
    return "".join(R.choice(alpha) for _ in range(n))


def luhn_sum(s, double_first):
    tot = 0
    for i, c in enumerate(reversed(s)):
        d = int(c)
        if (i % 2 == 0) == double_first:
            d *= 2
            if d > 9:
                d -= 9
        tot += d
    return tot


def luhn_digit(s):
    """The digit to append to s so that the result passes Luhn."""
    return str((10 - luhn_sum(s, True) % 10) % 10)


def luhn_ok(s):
    return luhn_sum(s, False) % 10 == 0


def card():
    kind = R.choice(["amex", "visa", "mc", "disc"])
    prefix, n = {"amex": (R.choice(["34", "37"]), 15), "visa": ("4", 16),
                 "mc": (str(R.randint(51, 55)), 16), "disc": (R.choice(["6011", "65"]), 16)}[kind]
    body = prefix + rs(string.digits, n - len(prefix) - 1)
    num = body + luhn_digit(body)
    sep = R.choice([" ", "", "-", "\u00a0"])
    groups = [num[:4], num[4:10], num[10:]] if n == 15 else [num[i:i + 4] for i in range(0, 16, 4)]
    return sep.join(groups)


def email():
    local = R.choice(["m_rossi", "priya.k", "kate", "j.smith", "anna", "omar", "li.wei", "dev-ops"])
    if R.random() < 0.5:
        local += str(R.randint(1, 99))
    return local + "@" + R.choice(["example.com", "mail.contoso.io", "bigbank.co.uk",
                                   "acme-health.org", "uni-bonn.de"])


def nanp():
    return (str(R.randint(2, 9)) + rs(string.digits, 2), str(R.randint(2, 9)) + rs(string.digits, 2),
            rs(string.digits, 4))


def phone():
    a, b, c = nanp()
    return R.choice([f"{a}.{b}.{c}", "+44 20 " + rs(string.digits, 4) + " " + rs(string.digits, 4),
                     f"+1 {a}-{b}-{c}", "+49 30 " + rs(string.digits, 8), f"({a}) {b}-{c}"])


IBAN_BBAN = {
    "DE": lambda: rs(string.digits, 18),
    "GB": lambda: rs(string.ascii_uppercase, 4) + rs(string.digits, 14),
    "NL": lambda: rs(string.ascii_uppercase, 4) + rs(string.digits, 10),
    "ES": lambda: rs(string.digits, 20),
    "FR": lambda: rs(string.digits, 10) + rs(string.ascii_uppercase + string.digits, 11)
    + rs(string.digits, 2),
}


def iban(valid=True):
    cc = R.choice(list(IBAN_BBAN))
    bban = IBAN_BBAN[cc]()
    num = int("".join(str(int(ch, 36)) for ch in bban + cc + "00"))
    check = "%02d" % (98 - num % 97)
    if not valid:
        check = R.choice(["%02d" % k for k in range(2, 99) if "%02d" % k != check])
    s = cc + check + bban
    if R.random() < 0.5:
        s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s


def ssn():
    area = R.choice([a for a in range(1, 900) if a != 666])
    return "%03d-%02d-%04d" % (area, R.randint(1, 99), R.randint(1, 9999))


def aba():
    pre = R.choice(list(range(1, 13)) + list(range(21, 33)) + list(range(61, 73)) + [80])
    d = "%02d" % pre + rs(string.digits, 6)
    s = sum(int(x) * w for x, w in zip(d, [3, 7, 1, 3, 7, 1, 3, 7]))
    return d + str((10 - s % 10) % 10)


def npi():
    d = R.choice("12") + rs(string.digits, 8)
    return d + luhn_digit("80840" + d)


def dea():
    d = [R.randint(0, 9) for _ in range(6)]
    c = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return R.choice("ABFGMPRX") + R.choice(string.ascii_uppercase) + "".join(map(str, d)) + str(c)


def nhs():
    while True:
        d = [R.randint(0, 9) for _ in range(9)]
        c = 11 - sum((10 - i) * x for i, x in enumerate(d)) % 11
        c = 0 if c == 11 else c
        if c != 10:
            n = "".join(map(str, d)) + str(c)
            return n[:3] + " " + n[3:6] + " " + n[6:]


def mrn():
    return R.choice([rs(string.digits, 4) + "-" + rs(string.digits, 4), rs(string.digits, 8),
                     "MR" + rs(string.digits, 7)])


def dob():
    y, m, d = R.randint(1930, 2005), R.randint(1, 12), R.randint(1, 28)
    return R.choice(["%04d-%02d-%02d" % (y, m, d), "%02d/%02d/%04d" % (m, d, y),
                     "%d %s %d" % (d, MONTHS[m - 1], y)])


def pem():
    kind = R.choice(["", "RSA ", "EC ", "OPENSSH "])
    lines = [base64.b64encode(bytes(R.randrange(256) for _ in range(48))).decode()
             for _ in range(R.randint(3, 6))]
    lines.append(base64.b64encode(bytes(R.randrange(256) for _ in range(R.randint(10, 47)))).decode())
    return f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(lines) + f"\n-----END {kind}PRIVATE KEY-----"


def github():
    if R.random() < 0.33:
        return "github_pat_" + rs(A62 + "_", 82)
    return R.choice(["ghp_", "gho_", "ghs_"]) + rs(A62, 36)


def openai():
    if R.random() < 0.7:
        return "sk-proj-" + rs(B64U, R.randint(50, 60)) + "T3BlbkFJ" + rs(B64U, R.randint(50, 66))
    return "sk-" + rs(A62, 20) + "T3BlbkFJ" + rs(A62, 20)


def b64u(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def jwt():
    head = b64u(b'{"alg":"HS256","typ":"JWT"}')
    body = b64u(json.dumps({"sub": rs(string.digits, 8), "name": R.choice(["Ann Lee", "Bo Chan"]),
                            "iat": R.randint(1700000000, 1710000000)}, separators=(",", ":")).encode())
    return head + "." + body + "." + b64u(bytes(R.randrange(256) for _ in range(32)))


def secret():
    while True:
        s = rs(A62 + SYM, R.randint(16, 32))
        if any(c in SYM for c in s):
            return s


def ip():
    if R.random() < 0.2:
        return "2001:db8:%x::%x" % (R.randint(0x100, 0xffff), R.randint(0x100, 0xffff))
    return "%d.%d.%d.%d" % (R.choice([23, 45, 81, 104, 151, 185, 203]), R.randint(0, 255),
                            R.randint(0, 255), R.randint(1, 254))


def row(template, *ents):
    text, out = "", []
    parts = template.split("{}")
    for i, p in enumerate(parts):
        text += p
        if i < len(ents):
            t, v = ents[i]
            start = len(text.encode())
            text += v
            out.append({"type": t, "start": start, "end": len(text.encode())})
    print(json.dumps({"text": text, "entities": out}))


for _ in range(PER):
    row("Please charge my card {} for the renewal.", ("CREDIT_CARD", card()))
    row("Card on file: {}, exp %02d/%02d." % (R.randint(1, 12), R.randint(25, 30)), ("CREDIT_CARD", card()))
    row("Summarise: {} complained twice; card {} was declined.", ("EMAIL", email()), ("CREDIT_CARD", card()))
    row("Reach me at {} or call {}.", ("EMAIL", email()), ("PHONE", phone()))
    row("Wire the refund to IBAN {} by Friday.", ("IBAN", iban()))
    row("Patient SSN {} needs verification before discharge.", ("US_SSN", ssn()))
    row("Routing number {}, account ending %04d." % R.randint(0, 9999), ("ABA_ROUTING", aba()))
    row("Prescriber NPI {} is missing on the claim.", ("US_NPI", npi()))
    row("DEA registration {} expired.", ("US_DEA", dea()))
    row("NHS number {} for the referral letter.", ("UK_NHS", nhs()))
    row("MRN: {} admitted with chest pain.", ("MRN", mrn()))
    row("DOB: {}, allergies: penicillin.", ("DOB", dob()))
    row("Here is the deploy key:\n{}\nuse it carefully", ("PRIVATE_KEY", pem()))
    row("export AWS_ACCESS_KEY_ID={}", ("AWS_ACCESS_KEY", R.choice(["AKIA", "ASIA"])
                                       + rs(string.ascii_uppercase + "234567", 16)))
    row("my token is {} can you check why CI fails", ("GITHUB_TOKEN", github()))
    row("OPENAI_API_KEY={}", ("OPENAI_KEY", openai()))
    row('client = Anthropic(api_key="{}")', ("ANTHROPIC_KEY", "sk-ant-api03-" + rs(B64U, 93) + "AA"))
    row("maps key {} stopped working", ("GOOGLE_API_KEY", "AIza" + rs(B64U, 35)))
    row("slack bot token: {}", ("SLACK_TOKEN", "xoxb-" + rs(string.digits, 12) + "-"
                                + rs(string.digits, 13) + "-" + rs(A62, 24)))
    row("stripe.api_key = '{}'", ("STRIPE_KEY", R.choice(["sk_live_", "rk_live_"])
                                  + rs(A62, R.choice([24, 34, 99]))))
    row("Authorization: Bearer {}", ("JWT", jwt()))
    row('db:\n  user: app\n  password: "{}"\n', ("GENERIC_SECRET", secret()))
    row("The login attempts came from {} last night.", ("IP_ADDRESS", ip()))
    # Hard negatives.
    while True:
        body = "4" + rs(string.digits, 15)
        if not luhn_ok(body):
            break
    row("Order #%s shipped on Monday." % " ".join(body[i:i + 4] for i in range(0, 16, 4)))
    row("Upgrade the agent to version 10.%d.%d.%d before Friday." % tuple(R.randint(0, 9) for _ in range(3)))
    row("Part number %s-%02d-%04d is out of stock." % (R.choice(["000", "666", str(R.randint(900, 999))]),
                                                     R.randint(0, 99), R.randint(0, 9999)))
    row("Reference %s is not a valid account." % iban(False))
    row("The meeting moved to %02d/%02d/2026 at 10am." % (R.randint(1, 12), R.randint(1, 28)))
    row("Ship to Springfield, IL 62704-%04d." % R.randint(0, 9999))
    row("request id %s" % "-".join(rs("0123456789abcdef", k) for k in (8, 4, 4, 4, 12)))
    row("commit %s fixed the race" % rs("0123456789abcdef", 40))
    row("We sold %d units in Q3, up %d%% year over year." % (R.randint(1000, 9999), R.randint(2, 40)))
    for text in ["The docs use AKIAIOSFODNN7EXAMPLE as a sample key.", "npm install @types/node --save-dev",
                 "Clone it with git clone git@github.com:acme/tools.git",
                 "def add(a, b):\n    return a + b\n\nprint(add(2, 3))", "password: <your-password-here>",
                 "Edit main.py and config.sh, then run make.",
                 "Write a haiku about autumn leaves falling on a quiet river.",
                 "Set OPENAI_API_KEY=${OPENAI_API_KEY} in the workflow."]:
        row(text)
