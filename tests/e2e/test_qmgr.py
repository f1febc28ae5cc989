"""The queue manager's error model (issue #13): a message whose transaction fails is retried, and
the retry's log line says which step failed and why - never SQLite's "not an error"."""
import re
import smtplib

from conftest import wait_until


def test_a_failing_transaction_logs_its_cause(make_instance):
    # 65 copies of one mail to LIST-owner@ in one transaction: more rendered copies than the
    # queue manager could keep track of before issue #13 ("will retry: not an error", for ever)
    inst = make_instance()
    msg = b"From: <dana@example.net>\r\nSubject: to the owners\r\n\r\nHello.\r\n"
    with smtplib.SMTP("127.0.0.1", inst.port) as s:
        s.ehlo("client.example")
        s.mail("dana@example.net")
        for _ in range(65):
            s.rcpt("demo-owner@lists.example")
        code, reply = s.data(msg)
    assert code == 250, reply
    qid = re.search(rb"queued as ([0-9A-F]{24})", reply).group(1).decode()
    # either it went through (no cap on the copies) or it is retried: something happened
    assert wait_until(lambda: f"{qid} qmgr: will retry" in inst.logtext() or
                      f"{qid} qmgr: list=demo kind=owner" in inst.logtext())
    retries = [ln for ln in inst.logtext().splitlines() if qid in ln and "will retry" in ln]
    for ln in retries:
        assert "not an error" not in ln and "cause not recorded" not in ln, ln
        assert "list=demo owner:" in ln, ln          # the handler that failed is named
