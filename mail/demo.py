"""A realistic support week, relative to "now": the mailbox behind `frontdesk --demo`.

The demo is not rows written straight into tables. It is the mail a support desk for a code-search
product would have received over the last seven days, generated as raw RFC 5322 messages and fed
through the real Ingestor, with the rep's actions (severity, hand-offs with notes, waiting,
resolving, replies queued in the outbox) replayed on a frozen clock at the moment each happened.
So the demo runs the same parsing, threading and SLA code as real mail does, and shows every state
a rep meets: a ticket that just arrived, clocks on track, at risk and breached, met and missed
targets, a paused clock, resolved and reopened tickets, an auto-reply, a bounce, HTML-only mail,
attachments, and the hostile text real mailboxes carry (markup, escape sequences, bidi overrides).

Everything derives from `now` and a fixed seed: two builds for the same `now` are the same.
The clock states that matter are timed in calendar hours, so they hold whatever weekday `now` is.
"""

from __future__ import annotations

import base64
import email.policy
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from email.message import EmailMessage, Message
from email.utils import format_datetime, parseaddr
from pathlib import Path
from string import Template
from typing import Literal
from zoneinfo import ZoneInfo

from frontdesk.storage import usecases
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.files import make_folder, write_private
from frontdesk.storage.models import Message as StoredMessage
from frontdesk.storage.store import Store, reply_subject
from frontdesk.storage.team import take_rotation

from .ingest import Ingestor

SUPPORT = "Frontdesk Support <support@frontdesk.example>"
_SEED = 20261125

# (hours after the ticket's first message, action, argument); actions are _Week's handlers.
Step = tuple[float, str, object]


@dataclass(frozen=True)
class Story:
    """One ticket's week: the first message, then what happened to it."""

    sender: str
    subject: str
    body: str
    age: float  # hours before now that the first message arrived
    steps: tuple[Step, ...] = ()
    form: Literal["plain", "html", "auto-reply", "bounce"] = "plain"
    attachments: tuple[tuple[str, str, bytes], ...] = ()  # (file name, content type, content)


# --- the reps: Jamie held the rotation last week, Alex (the demo's "me") took it over this week ----


@dataclass(frozen=True)
class Rep:
    name: str
    email: str


JAMIE = Rep("Jamie Chen", "jamie.chen@frontdesk.example")
ALEX = Rep("Alex Rivera", "alex.rivera@frontdesk.example")


def handover_moment(now: datetime, tz: ZoneInfo) -> datetime:
    """This week's Monday 09:00 at the desk, or an hour ago when that is still to come."""
    local = now.astimezone(tz)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), time(9), tzinfo=tz)
    return min(monday.astimezone(timezone.utc), now - timedelta(hours=1))


# --- owners (the config lists the same addresses) ------------------------------------------------

PRIYA = "priya.raman@frontdesk.example"
MARCUS = "marcus.oyelaran@frontdesk.example"
LENA = "lena.fischer@frontdesk.example"
TOMAS = "tomas.ibarra@frontdesk.example"
HANNAH = "hannah.kim@frontdesk.example"
SAM = "sam.okafor@frontdesk.example"
YUKI = "yuki.sato@frontdesk.example"
RAVI = "ravi.menon@frontdesk.example"

# A 1x1 PNG: a screenshot stand-in that is a real image.
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
_SEARCH_LOG = b"""\
2026/11/23 08:14:02 zoekt-webserver: search took 8.412s, query=(regex "func\\s+\\w+Handler\\(")
2026/11/23 08:14:02 zoekt-webserver: shards scanned=1843 skipped=0 files considered=2311204
2026/11/23 08:14:09 zoekt-webserver: search took 7.905s, query=(regex "TODO\\(.*\\)")
2026/11/23 08:14:10 zoekt-webserver: memory map failed for shard github.com_initech_core_v16.00000.zoekt: cannot allocate memory
"""

STORIES: tuple[Story, ...] = (
    Story(
        "Nadia Haddad <nadia.haddad@hooli.example>",
        "Helm upgrade to 5.10 hangs on the migrator job",
        "Hi,\n\nWe started the helm upgrade from 5.9.2 to 5.10.0 twenty minutes ago and the migrator "
        "pod is still Running. Its last log line is 'Checking progress for migration 1700000001'.\n\n"
        "Is it safe to delete the pod and re-run? Our maintenance window closes at 17:00 UTC.\n\n"
        "Nadia\nPlatform team, Hooli",
        age=0.07,
    ),
    Story(
        "Ben Carter <ben.carter@northwind.example>",
        "Search results missing for repositories added this week",
        "Hello,\n\nWe added about 60 repositories from our new GitLab group on Monday. They show up "
        "under Site admin > Repositories as cloned, but searching for code that is definitely in "
        "them returns nothing. Older repositories are fine.\n\nAnything we should check before we "
        "start re-adding them?\n\nThanks,\nBen Carter\nDeveloper Productivity, Northwind Traders",
        age=20.5,
    ),
    Story(
        "Jordan Blake <jordan.blake@mailbox.example>",
        "Pricing for a 12-person team?",
        "Hi there,\n\nI run a small consultancy (12 developers). We'd like a self-hosted instance on "
        "our own VM. Is there a plan for a team our size, and can we try it for a month first?\n\n"
        "Cheers,\nJordan",
        age=31,
    ),
    Story(
        "Globex IT Service Desk <servicedesk@globex.example>",
        "Feature request: export saved searches as CSV",
        "<html><body><p>Hello Support,</p>"
        "<p>Ticket <b>GLX-48213</b> was raised by a user on our side:</p>"
        "<blockquote><p>Our compliance team keeps a list of <i>saved searches</i> for secrets and "
        "licence headers. They would like to <b>export the matches as CSV</b> each month instead "
        "of copying them by hand.</p></blockquote>"
        "<p>Is this on the roadmap? See <a href=\"https://globex.example/itsm/GLX-48213\">GLX-48213</a>."
        "</p><p>Kind regards,<br>Globex IT Service Desk</p></body></html>",
        age=3,
        form="html",
    ),
    Story(
        "Nadia Haddad <nadia.haddad@hooli.example>",
        "[bold red]URGENT[/] \x1b[31meveryone logged out after the SSO certificate change [/]",
        "We rotated the SAML signing certificate at 13:00 and now every sign-in ends in a loop.\n"
        "The frontend log shows:\n\n"
        "  \x1b[31mERROR\x1b[0m auth: SAML response signature invalid (cert fingerprint 3F:9A:...)\n\n"
        "We uploaded the new certificate in the site configuration. What did we miss?\n\nNadia",
        age=1.5,
    ),
    Story(
        "Wei Zhang <wei.zhang@initech.example>",
        "🚀 Can batch changes open merge requests with our GitLab MR template?",
        "Hi!\n\nWe're rolling out batch changes to 300 repositories 🎉. Our GitLab projects have a "
        "merge request template with a checklist that reviewers rely on. Can a batch spec fill it "
        "in, or at least append it to the description?\n\nThanks!\nWei",
        age=5,
        steps=((1, "reply", "Hi Wei,\n\nGood question. The batch spec's changesetTemplate.body is "
               "used as the merge request description as it is, so you can paste the checklist "
               "there. I'll check whether we can pull in the project's template automatically.\n\n"
               "Best,\nAlex"),),
    ),
    Story(
        "Ben Carter <ben.carter@northwind.example>",
        "Question about upgrading from 5.2 straight to 5.10 on our self-hosted Kubernetes cluster "
        "with an external PostgreSQL 12 database and a separate codeintel database, given that the "
        "release notes for 5.6 mention a minimum PostgreSQL version and we also still have the old "
        "frontend replicas pinned to a specific node pool because of the memory limits on that pool",
        "Hi,\n\nSorry for the long subject line. Can we jump from 5.2 to 5.10 in one go with the "
        "multi-version upgrade, and do we need to move to PostgreSQL 16 first?\n\nBen",
        age=9,
        steps=((8.5, "snippet", "ack"),),
    ),
    Story(
        "Lucia Romero <lucia.romero@globex.example>",
        "Production instance returns 502 after node pool rotation",
        "Hi,\n\nSince our cloud team rotated the node pool last night, about one request in three "
        "to code.globex.example ends in a 502 Bad Gateway. Search and code navigation both fail "
        "intermittently. This is our production instance and 1,400 developers use it.\n\nLucia Romero\n"
        "Engineering Enablement, Globex",
        age=20,
        steps=(
            (0.5, "severity", 1),
            (1, "assign", (SAM, "Managed instance. 502s began right after their node pool rotation; "
                          "check the load balancer health checks first.")),
            (19.8, "snippet", "ack"),
        ),
    ),
    Story(
        "Oskar Nilsson <oskar.nilsson@northwind.example>",
        "gitserver pods OOMKilled, clones failing for large repos",
        "Hi team,\n\nSince Tuesday morning gitserver-0 and gitserver-2 get OOMKilled every few "
        "minutes. We raised the memory limit from 8Gi to 12Gi, which did not help. Clones of our "
        "monorepo (38 GB) fail and search is missing results for it.\n\n"
        "kubectl describe shows: Last State: Terminated, Reason: OOMKilled, Exit Code: 137\n\nOskar",
        age=27,
        steps=(
            (2, "severity", 1),
            (2.5, "assign", (PRIYA, "Self-hosted on EKS, helm chart 5.8. Memory already raised once; "
                            "likely the git gc on the 38 GB monorepo.")),
            (20, "customer", "Any update on this? We are now at 15 restarts an hour.\n\nOskar"),
        ),
    ),
    Story(
        "Marta Kowalski <marta.kowalski@hooli.example>",
        "SSO login loop after moving to Okta SAML",
        "Hello,\n\nWe moved our instance from GitHub OAuth to Okta SAML yesterday. About a third of "
        "users get sent back to the Okta login page over and over. Admins are not affected.\n\n"
        "Marta Kowalski, IT, Hooli",
        age=30,
        steps=(
            (1, "severity", 1),
            (1.5, "reply", "Hi Marta,\n\nSorry about the loop, thanks for reaching out. Could you "
                 "capture one failing sign-in with the SAML-tracer browser extension and send us the "
                 "export? I've asked Yuki from our Security team to look at it with you.\n\nBest,\nAlex"),
            (2, "assign", (YUKI, "SAML loop for a third of users after Okta migration. Admins fine; "
                          "suspect group attribute or clock skew.")),
            (5, "customer", "Hi Alex, Yuki,\n\nThe tracer export is attached to our shared folder. "
                "The failing users all have a '+' in their email address, if that helps.\n\nMarta"),
            (8, "reply", "Hi Marta,\n\nThanks, that was the clue: the '+' is being URL-decoded to a "
                "space before the user lookup. Until the fix ships, setting "
                "auth.saml.nameIDFormat to 'persistent' in the site configuration avoids it.\n\n"
                "Yuki Sato\nSecurity"),
            (26, "customer", "That workaround fixed most users, but two people still loop. Both "
                 "were created before the migration. Should we delete and recreate them?\n\nMarta"),
        ),
    ),
    Story(
        "Raj Patel <raj.patel@initech.example>",
        "Upgrade 5.8 to 5.9 fails: migration 1680000000 marked dirty",
        "Hi,\n\nThe upgrade stopped with: 'dirty database: migration 1680000000 failed, fix it "
        "manually'. The instance is down until we get past this.\n\nRaj Patel, SRE, Initech",
        age=100,
        steps=(
            (1, "severity", 1),
            (1.5, "assign", (MARCUS, "Dirty migration during 5.8 -> 5.9 upgrade, instance down. "
                            "Needs the drift check and a manual up.")),
            (2, "reply", "Hi Raj,\n\nThanks for the report. I've brought in Marcus from our "
                "Distribution team. Could you send the output of 'migrator drift --db=frontend'?\n\n"
                "Best,\nAlex"),
            (4, "customer", "Here it is: the index repo_name_trgm already exists. It looks like "
                "someone created it by hand last year.\n\nRaj"),
            (20, "reply", "Hi Raj,\n\nThat explains it. Drop the hand-made index, then run "
                 "'migrator up -db=frontend' and start the upgrade again; the migration will create "
                 "the index with the expected definition.\n\nMarcus Oyelaran\nDistribution"),
            (30, "customer", "That worked, we're on 5.9 and everything is green. Thank you both!"),
            (31, "resolve", None),
        ),
    ),
    Story(
        "田中 美咲 <misaki.tanaka@tanaka-sys.example>",
        "検索インデックスの再構築が終わらない (search index rebuild never finishes)",
        "サポートご担当者様\n\n先週末からインデックスの再構築が 92% で止まったままです。"
        "Zoekt のログには 'shard merge timed out' が繰り返し出ています。\n\n"
        "The index rebuild has been stuck at 92% since the weekend; the Zoekt log keeps "
        "saying 'shard merge timed out'.\n\n田中 美咲\nTanaka Systems",
        age=150,
        steps=(
            (2, "severity", 1),
            (3, "reply", "Hi Misaki,\n\nThank you for the details, and sorry for the trouble. "
                "Lena from our Search team will follow up. Could you tell us how much free disk "
                "the indexserver volume has?\n\nBest,\nAlex"),
            (3, "assign", (LENA, "Index rebuild stuck at 92%, 'shard merge timed out'. Japanese is "
                          "fine but English works too.")),
            (10, "customer", "空き容量は 41 GB です。 The volume has 41 GB free.\n\n田中"),
            (40, "reply", "Hi Misaki,\n\n41 GB is less than the merge needs for your largest shard. "
                 "Please grow the volume to 200 GB; the rebuild resumes by itself.\n\n"
                 "Lena Fischer\nSearch"),
            (60, "customer", "ボリュームを拡張しました。 We resized the volume; it is at 97% now."),
            (90, "resolve", None),
        ),
    ),
    Story(
        "Алексей Смирнов <a.smirnov@volgasoft.example>",
        "Навигация по коду не работает после обновления",
        "Здравствуйте!\n\nПосле обновления до 5.9 переход к определению и поиск ссылок "
        "перестали работать во всех Go-репозиториях. Загрузка индексов SCIP проходит без ошибок.\n\n"
        "After upgrading to 5.9, go-to-definition and find-references stopped working in all "
        "Go repositories, although SCIP uploads succeed.\n\nАлексей Смирнов\nVolgaSoft",
        age=70,
        steps=(
            (1, "severity", 1),
            (14, "reply", "Hi Aleksei,\n\nApologies for the slow answer. Tomás from Code "
                 "Intelligence is taking this: could you send the output of "
                 "'src code-intel uploads list -repo=<one affected repo>'?\n\nBest,\nAlex"),
            (14, "assign", (TOMAS, "Precise nav broken for all Go repos since 5.9; uploads succeed. "
                           "We answered late (after their 8h target).")),
        ),
    ),
    Story(
        "Ben Carter <ben.carter@northwind.example>",
        "Precise code intel missing for the payments monorepo",
        "Hi,\n\nCode navigation for payments-core only offers search-based results since Friday, "
        "even though CI uploads an index on every merge.\n\nBen",
        age=50,
        steps=(
            (1, "severity", 1),
            (3, "assign", (TOMAS, "Uploads from CI seem to go missing for payments-core.")),
            (4, "reply", "Hi Ben,\n\nTomás here from Code Intelligence. Could you send the "
                "output of 'src code-intel upload' from the last CI run, and the precise-code-intel-worker "
                "logs from the same time? I'll pick it up as soon as they arrive.\n\n"
                "Tomás Ibarra\nCode Intelligence"),
            (4.1, "wait", None),
        ),
    ),
    Story(
        "Lucia Romero <lucia.romero@globex.example>",
        "Batch change fails to publish to GitHub Enterprise: 403 Resource not accessible",
        "Hi,\n\nPublishing our 'bump-log4j' batch change fails for every changeset with "
        "'403 Resource not accessible by integration'. The credential was added by a site admin.\n\n"
        "Lucia",
        age=75,
        steps=(
            (1, "severity", 2),
            (2, "assign", (HANNAH, "GHE 403 on publish: probably token scopes.")),
            (2.5, "reply", "Hi Lucia,\n\nHannah from Batch Changes here. The token behind the "
                  "credential needs the 'repo', 'read:org' and 'workflow' scopes; could you check "
                  "and let us know?\n\nHannah Kim\nBatch Changes"),
            (3, "wait", None),
            (40, "customer", "New token with those scopes: 37 of 40 changesets published. The three "
                 "that still fail are archived repositories.\n\nLucia"),
            (45, "reply", "Hi Lucia,\n\nArchived repositories are read-only on GitHub, so those "
                 "three can't be published. Unarchive them, or exclude them in the batch spec with "
                 "an 'exclude' rule.\n\nHannah"),
            (74, "queue", "Hi Lucia,\n\nJust checking in: did excluding the archived repositories "
             "get the batch change fully published?\n\nHannah"),
        ),
    ),
    Story(
        "Marta Kowalski <marta.kowalski@hooli.example>",
        "Can we shorten the permissions sync interval?",
        "Hi,\n\nWhen someone leaves a GitHub team it takes up to a day before they lose access to "
        "its private repositories in search. Can we make the permissions sync run every hour?\n\nMarta",
        age=10,
        steps=((0.5, "severity", 2),),
    ),
    Story(
        "Grace Okoye <grace.okoye@umbrella-health.example>",
        "License key shows 250 seats, our contract says 400",
        "Hello,\n\nWe renewed last week for 400 seats, but Site admin > License still says 250 and "
        "new users are being refused.\n\nGrace Okoye\nProcurement, Umbrella Health",
        age=120,
        steps=(
            (0.5, "severity", 2),
            (1, "reply", "Hi Grace,\n\nThanks for flagging this. Ravi will issue a new key "
                "straight away.\n\nBest,\nAlex"),
            (1.2, "assign", (RAVI, "Renewed at 400 seats, key still says 250.")),
            (6, "reply", "Hi Grace,\n\nA new license key for 400 seats is on its way to your admin "
                "contact. Paste it in Site admin > License; no restart is needed.\n\n"
                "Ravi Menon\nCustomer Engineering"),
            (20, "customer", "Applied, it shows 400 now. Thanks!\n\nGrace"),
            (20.5, "resolve", None),
        ),
    ),
    Story(
        "Dr. Samuel Reyes <samuel.reyes@umbrella-health.example>",
        "Managed instance down: 503 on every page",
        "Our managed instance has returned 503 Service Unavailable on every page for the last "
        "ten minutes. Nobody can search.\n\nSamuel Reyes\nHead of Platform, Umbrella Health",
        age=40,
        steps=(
            (0.2, "severity", 1),
            (0.5, "reply", "Hi Samuel,\n\nWe're on it; Sam from our Cloud team is looking at your "
                  "instance right now. Next update within the hour.\n\nAlex"),
            (0.6, "assign", (SAM, "Elite customer, managed instance fully down. 2h response target.")),
            (3, "reply", "Hi Samuel,\n\nYour instance is back. The database disk filled up after "
                "a spike of search jobs; we've doubled it and added an alert. A short write-up "
                "follows tomorrow.\n\nSam Okafor\nCloud"),
            (4, "customer", "Confirmed, everything works again. Thanks for the quick turnaround."),
            (5, "resolve", None),
        ),
    ),
    Story(
        "Kevin Walsh <kevin.walsh@globex.example>",
        "Automatic reply: Out of office",
        "Thank you for your message. I am out of the office until Monday and have limited access "
        "to email. For anything urgent, please contact lucia.romero@globex.example.\n\nKevin Walsh",
        age=28,
        form="auto-reply",
    ),
    Story(
        "Mail Delivery System <MAILER-DAEMON@mx.frontdesk.example>",
        "Undelivered Mail Returned to Sender",
        "This is the mail system at host mx.frontdesk.example.\n\nI'm sorry to have to inform you "
        "that your message could not be delivered to one or more recipients.\n\n"
        "<j.doe@initech.example>: host mx.initech.example said: 550 5.1.1 User unknown",
        age=16,
        form="bounce",
    ),
    Story(
        "Accounts Payable <ap@hooli.example>",
        "Invoice 2026-10 has the wrong PO number",
        "Hello,\n\nThe October invoice lists PO 4500012345, but our purchase order is "
        "4500019876. The corrected invoice from our system is attached; please reissue yours "
        "to match.\n\nAccounts Payable, Hooli",
        age=45,
        steps=(
            (2, "severity", 2),
            (3, "reply", "Hello,\n\nThanks, I've passed this to our billing team. The attachment "
                "came through as an executable, which we can't open; could you send it as a PDF?\n\n"
                "Best,\nAlex"),
            (3.2, "assign", (RAVI, "Do not open the attachment: its name hides '.exe' behind a "
                            "right-to-left override. Asked for a PDF.")),
        ),
        attachments=(("invoice_2026-10\u202efdp.exe", "application/octet-stream", b"MZ\x90\x00demo"),),
    ),
    Story(
        "Wei Zhang <wei.zhang@initech.example>",
        "Regex searches take 8+ seconds since Monday",
        "Hi,\n\nSince Monday, regex searches across all repositories take 8 seconds or more (p95 "
        "used to be under 1 s). Literal searches are still fast. Log excerpt and our latency graph "
        "are attached.\n\nWei",
        age=55,
        steps=(
            (2, "severity", 2),
            (3, "reply", "Hi Wei,\n\nThanks for the log, that helps. Lena from our Search team "
                "will take it from here.\n\nBest,\nAlex"),
            (3, "assign", (LENA, "Regex p95 8s; log shows mmap failures on indexserver shards.")),
            (20, "customer", "Extra detail: the slowdown started right after we added 400 archived "
                 "repositories.\n\nWei"),
            (26, "reply", "Hi Wei,\n\nThat matches the log: the extra shards no longer fit in "
                 "memory, so every regex search pages them in. Either raise the indexserver memory "
                 "to 48Gi or exclude archived repositories from indexing.\n\nLena Fischer\nSearch"),
            (50, "customer", "We excluded the archived repositories. p95 is down to 2.1 s, better but "
                 "not where it was. Anything else we can tune?\n\nWei"),
        ),
        attachments=(("zoekt-webserver.log", "text/plain", _SEARCH_LOG), ("latency-p95.png", "image/png", _PNG)),
    ),
    Story(
        "Lucia Romero <lucia.romero@globex.example>",
        "Feature request: dark mode for the code host connections page",
        "Hi,\n\nSmall one: the code host connections page ignores the dark theme and is very "
        "bright at night. Could it follow the theme like the rest of the app?\n\nLucia",
        age=140,
        steps=(
            (1, "severity", 2),
            (5, "reply", "Hi Lucia,\n\nThanks, agreed. I've filed it with the product team as "
                "FR-2291 and will close this ticket; you'll hear from us when it ships.\n\nAlex"),
            (6, "resolve", None),
        ),
    ),
    Story(
        "Oskar Nilsson <oskar.nilsson@northwind.example>",
        "helm upgrade: were values.yaml keys renamed in chart 5.x?",
        "Hi,\n\n'helm upgrade' to chart 5.3 warns that 'frontend.resources' is unknown. Were the "
        "keys renamed? I couldn't find it in the changelog.\n\nOskar",
        age=80,
        steps=(
            (1, "severity", 2),
            (20, "reply", "Hi Oskar,\n\nYes: since 5.0 per-service settings live under "
                 "'sourcegraph.<service>', e.g. 'frontend.resources' became 'frontend.containers."
                 "frontend.resources'. The upgrade notes for 5.0 list them all.\n\n"
                 "Priya Raman\nDistribution"),
            (22, "customer", "Found them, the upgrade went through. Thanks Priya!"),
            (23, "resolve", None),
        ),
    ),
    Story(
        "Kenji Mori <kenji.mori@tanaka-sys.example>",
        "License: can contractors sign in through our SSO?",
        "Hello,\n\nWe have 20 contractors in our Okta directory. Do they count as seats like "
        "employees, and can they use the same SSO sign-in?\n\nKenji Mori",
        age=110,
        steps=(
            (2, "severity", 2),
            (6, "reply", "Hi Kenji,\n\nYes to both: every user who signs in counts as one seat, "
                "employee or contractor, and they use the same SSO provider.\n\nBest,\nAlex"),
            (8, "resolve", None),
        ),
    ),
    Story(
        "Sofia Marin <sofia.marin@brightpath.example>",
        "Trial extension for our evaluation",
        "Hi,\n\nOur 30-day trial ends on Friday, but our security review only starts next week. "
        "Could you extend it by two weeks?\n\nSofia Marin\nBrightPath",
        age=44,
        steps=(
            (3, "severity", 2),
            (3, "reply", "Hi Sofia,\n\nHappy to. Could you send the instance's site ID (Site admin > "
                "Configuration) so we can issue the extension?\n\nBest,\nAlex"),
            (3.2, "assign", (RAVI, "Trial extension, 2 weeks. Waiting on their site ID.")),
            (3.5, "wait", None),
        ),
    ),
    Story(
        "Raj Patel <raj.patel@initech.example>",
        "Audit log: can we stream events to S3?",
        "Hi,\n\nOur auditors want every sign-in and permission change in our S3 bucket within 15 "
        "minutes. Is there a supported way to stream the audit log?\n\nRaj",
        age=60,
        steps=(
            (2, "severity", 2),
            (4, "assign", (YUKI, "Audit log export to S3 for Initech's auditors.")),
            (4, "reply", "Hi Raj,\n\nThe audit log is written to the frontend's structured logs, "
                "so any log shipper (Fluent Bit, Vector) can forward it to S3. I'll send a "
                "filter that keeps only audit events.\n\nYuki Sato\nSecurity"),
            (30, "customer", "Vector works for us. The filter would be great.\n\nRaj"),
            (34, "reply", "Hi Raj,\n\nHere it is: match on the field 'Audit: true' and drop the "
                 "rest. Let me know if the auditors need anything else.\n\nYuki"),
        ),
    ),
    Story(
        "Marta Kowalski <marta.kowalski@hooli.example>",
        "Code search shows stale results after force-push",
        "Hi,\n\nAfter we force-pushed main on web-platform, search keeps returning lines that no "
        "longer exist. Our developers are chasing ghosts.\n\nMarta",
        age=130,
        steps=(
            (1, "severity", 1),
            (2, "reply", "Hi Marta,\n\nSorry about that. Lena from Search will look right away.\n\nAlex"),
            (2.5, "assign", (LENA, "Stale index after force-push on web-platform.")),
            (18, "reply", "Hi Marta,\n\nWe triggered a reindex of web-platform and results are "
                 "current again. We're looking into why the force-push was missed.\n\n"
                 "Lena Fischer\nSearch"),
            (20, "resolve", None),
            (60, "customer", "It happened again after today's force-push. Same repository.\n\nMarta"),
            (70, "reply", "Hi Marta,\n\nFound it: the repository's webhook was pointing to an old "
                 "URL, so only the hourly poll saw pushes. We fixed the webhook with your admin.\n\n"
                 "Lena"),
            (72, "resolve", None),
        ),
    ),
    Story(
        "Oskar Nilsson <oskar.nilsson@northwind.example>",
        "Docker Compose: is ARM64 supported?",
        "Hi,\n\nWe'd like to move our staging instance to Graviton machines. Are the Docker Compose "
        "images published for linux/arm64?\n\nOskar",
        age=26,
        steps=((3, "severity", 2),),
    ),
    Story(
        "Grace Okoye <grace.okoye@umbrella-health.example>",
        "Request: IP allowlist for the managed instance",
        "Hello,\n\nOur security team asks that the managed instance only accept traffic from our "
        "VPN ranges (203.0.113.0/24 and 198.51.100.0/24). Can you set that up?\n\nGrace",
        age=8,
        steps=(
            (0.5, "severity", 2),
            (1, "reply", "Hi Grace,\n\nYes, we can. Yuki will confirm the ranges with you and "
                "schedule the change.\n\nBest,\nAlex"),
            (1.2, "assign", (YUKI, "IP allowlist for Umbrella's managed instance; confirm ranges.")),
        ),
    ),
)


# --- the configuration ---------------------------------------------------------------------------

_CONFIG = Template('''\
# frontdesk demo configuration: a week at the support desk of a code-search product.
# Generated with the demo mailbox; edit freely, it is rebuilt with the next `frontdesk --demo`.

[support]
address = "support@frontdesk.example"   # customers write here; mail from it counts as our reply
display_name = "Frontdesk Support"

[me]
# Who is at this keyboard: Alex took the front-line rotation over from Jamie Chen this week.
name = "Alex Rivera"
email = "alex.rivera@frontdesk.example"

[business_hours]
# Business-day targets (e.g. "5bd") count only these hours; calendar targets ("24h") ignore them.
timezone = "America/New_York"
workdays = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-18:00"
holidays = [$holidays]

[sla]
at_risk_fraction = 0.2                  # "at risk" once less than a fifth of a target is left
default_policy = "standard"             # the handbook: sev1 24h / 72h, sev2 5bd / no resolution

# Custom agreements. Keys left out keep the handbook's value; "none" means no target.
[sla.policies.enterprise-plus]
sev1 = { response = "8h", resolution = "48h" }
sev2 = { response = "3bd", resolution = "15bd" }

[sla.policies.elite]
sev1 = { response = "2h", resolution = "24h" }
sev2 = { response = "1bd", resolution = "5bd" }
pause_while_waiting = false             # the elite contract keeps the clock running while waiting

[[customers]]
name = "Northwind Traders"
domains = ["northwind.example"]
deployment = "self-hosted"
account_executive = "Grace Liu <grace.liu@frontdesk.example>"

[[customers]]
name = "Globex"
domains = ["globex.example", "globex-labs.example"]
deployment = "managed"
account_executive = "Grace Liu <grace.liu@frontdesk.example>"

[[customers]]
name = "Initech"
domains = ["initech.example"]
deployment = "self-hosted"
policy = "enterprise-plus"
account_executive = "Daniel Brooks <daniel.brooks@frontdesk.example>"

[[customers]]
name = "Umbrella Health"
domains = ["umbrella-health.example"]
deployment = "managed"
policy = "elite"
account_executive = "Daniel Brooks <daniel.brooks@frontdesk.example>"

[[customers]]
name = "Tanaka Systems"
domains = ["tanaka-sys.example"]
deployment = "self-hosted"
account_executive = "Grace Liu <grace.liu@frontdesk.example>"

[[customers]]
name = "VolgaSoft"
domains = ["volgasoft.example"]
deployment = "other"                    # air-gapped install under a custom agreement
policy = "enterprise-plus"
account_executive = "Daniel Brooks <daniel.brooks@frontdesk.example>"

[[customers]]
name = "Hooli"
domains = ["hooli.example"]
deployment = "managed"

# Owners see a ticket through; their areas are matched against tickets to suggest a hand-off.
[[owners]]
name = "Priya Raman"
email = "$PRIYA"
team = "Distribution"
areas = ["kubernetes", "helm", "upgrades", "docker compose"]

[[owners]]
name = "Marcus Oyelaran"
email = "$MARCUS"
team = "Distribution"
areas = ["upgrades", "migrations", "postgres"]

[[owners]]
name = "Lena Fischer"
email = "$LENA"
team = "Search"
areas = ["search", "indexing", "zoekt", "performance"]

[[owners]]
name = "Tomás Ibarra"
email = "$TOMAS"
team = "Code Intelligence"
areas = ["code intelligence", "code navigation", "scip", "precise indexing"]

[[owners]]
name = "Hannah Kim"
email = "$HANNAH"
team = "Batch Changes"
areas = ["batch changes", "github", "gitlab", "changesets"]

[[owners]]
name = "Sam Okafor"
email = "$SAM"
team = "Cloud"
areas = ["managed instances", "cloud", "availability"]

[[owners]]
name = "Yuki Sato"
email = "$YUKI"
team = "Security"
areas = ["sso", "saml", "audit log", "permissions", "security"]

[[owners]]
name = "Ravi Menon"
email = "$RAVI"
team = "Customer Engineering"
areas = ["licensing", "billing", "seats", "trials"]
''')


def _thanksgiving(year: int) -> date:
    """The fourth Thursday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


def _holidays(now: datetime) -> list[date]:
    """The company's holidays this year and next, so a holiday can fall inside the demo week."""
    days = []
    for year in (now.year, now.year + 1):
        thanksgiving = _thanksgiving(year)
        days += [date(year, 1, 1), date(year, 7, 4), thanksgiving, thanksgiving + timedelta(days=1), date(year, 12, 25)]
    return sorted(days)


def config_text(now: datetime) -> str:
    owners = dict(PRIYA=PRIYA, MARCUS=MARCUS, LENA=LENA, TOMAS=TOMAS, HANNAH=HANNAH, SAM=SAM, YUKI=YUKI, RAVI=RAVI)
    return _CONFIG.substitute(owners, holidays=", ".join(day.isoformat() for day in _holidays(now)))


# --- replaying the week --------------------------------------------------------------------------


@dataclass
class _Thread:
    """What a story's later messages need: the ticket and the messages so far."""

    ticket_id: int = 0
    message_ids: list[str] = field(default_factory=list)
    subject: str = ""
    last_text: str = ""
    last_from: str = ""
    last_date: str = ""


def _timeline(stories: tuple[Story, ...], now: datetime) -> list[tuple[datetime, int, Step]]:
    """Every story's first message and steps as (moment, story index, step), oldest first."""
    moments = []
    for index, story in enumerate(stories):
        start = now - timedelta(hours=story.age)
        for step in ((0.0, "first", None), *story.steps):
            at = start + timedelta(hours=step[0])
            if at > now:
                raise ValueError(f"story {story.subject!r}: step {step[1]!r} lies after now")
            moments.append((at, index, step))
    moments.sort(key=lambda moment: moment[0])  # stable: same-moment steps keep their order
    return moments


class _Week:
    """Plays the stories into a store: mail through the Ingestor, actions on the frozen clock."""

    def __init__(self, store: Store, clock: FrozenClock) -> None:
        self.store = store
        self.clock = clock
        self.ingestor = Ingestor(store)
        self.rng = random.Random(_SEED)
        self.rep = ALEX
        self.actions: dict[str, Callable[[Story, _Thread, object], None]] = {
            "first": self._first,
            "customer": self._customer,
            "reply": self._reply,
            # The rep's actions are the use cases the inbox and the command line call.
            "severity": lambda story, thread, sev: usecases.triage(store, thread.ticket_id, sev),
            "assign": lambda story, thread, arg: usecases.assign(store, thread.ticket_id, *arg),
            "wait": lambda story, thread, _: usecases.wait(store, thread.ticket_id),
            "resolve": lambda story, thread, _: usecases.resolve(store, thread.ticket_id),
            "queue": lambda story, thread, body: usecases.reply(store, thread.ticket_id, body),
            "snippet": lambda story, thread, name: usecases.snippet_reply(store, thread.ticket_id, name),
        }

    def play(self, stories: tuple[Story, ...], now: datetime) -> None:
        threads = [_Thread() for _ in stories]
        handover = handover_moment(now, self.store.config.calendar.timezone)
        with self.store.transaction():
            self._take_rotation(JAMIE, handover - timedelta(days=7))
            for at, index, (_, action, argument) in _timeline(stories, now):
                if at >= handover and self.rep is not ALEX:
                    self._take_rotation(ALEX, handover)  # Jamie's note is what the desk held then
                self.clock.set(at)
                self.actions[action](stories[index], threads[index], argument)
            if self.rep is not ALEX:
                self._take_rotation(ALEX, handover)

    def _take_rotation(self, rep: Rep, at: datetime) -> None:
        """From here on, what the rep does is done by `rep`."""
        self.clock.set(at)
        take_rotation(self.store, rep, at)
        self.rep = rep
        self.store.actor = rep.name

    # --- mail ---

    def _first(self, story: Story, thread: _Thread, _: object) -> None:
        thread.subject = story.subject
        if story.form == "bounce":
            message = self._bounce(story)
        else:
            message = self._mail(story.sender, SUPPORT, story.subject, thread)
            message.set_content(story.body, subtype="html" if story.form == "html" else "plain")
            for name, content_type, content in story.attachments:
                maintype, subtype = content_type.split("/")
                message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
        if story.form == "auto-reply":
            # It answers a renewal reminder that asked for replies to the support address.
            message["In-Reply-To"] = self._message_id(_domain(SUPPORT))
            message["Auto-Submitted"] = "auto-replied"
            message["X-Autoreply"] = "yes"
        self._deliver(message, thread, story.body, inbound=story.form != "bounce")
        thread.ticket_id = StoredMessage.select(StoredMessage.ticket).order_by(StoredMessage.id.desc()).get().ticket_id

    def _customer(self, story: Story, thread: _Thread, text: object) -> None:
        subject = thread.subject if thread.subject.lower().startswith("re:") else f"Re: {thread.subject}"
        self._answer(story.sender, SUPPORT, subject, thread, str(text), inbound=True)

    def _reply(self, story: Story, thread: _Thread, text: object) -> None:
        subject = reply_subject(thread.ticket_id, story.subject)
        # The stories are signed by Alex; what was answered before the hand-over, Jamie signed.
        signed = re.sub(r"\bAlex$", self.rep.name.split()[0], str(text))
        self._answer(SUPPORT, story.sender, subject, thread, signed, inbound=False)

    def _answer(self, sender: str, to: str, subject: str, thread: _Thread, text: str, inbound: bool) -> None:
        """A reply in the thread, quoting the message it answers the way mail clients do."""
        message = self._mail(sender, to, subject, thread)
        quoted = "\n".join(f"> {line}" if line else ">" for line in thread.last_text.splitlines())
        message.set_content(f"{text}\n\nOn {thread.last_date}, {thread.last_from} wrote:\n{quoted}\n")
        thread.subject = subject
        self._deliver(message, thread, text, inbound)

    def _mail(self, sender: str, to: str, subject: str, thread: _Thread) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(self.clock.now())
        message["Message-ID"] = self._message_id(_domain(sender))
        if thread.message_ids:
            message["In-Reply-To"] = thread.message_ids[-1]
            message["References"] = " ".join(thread.message_ids)
        return message

    def _bounce(self, story: Story) -> EmailMessage:
        """A delivery status notification (RFC 3464) for a renewal reminder that bounced."""
        message = self._mail(story.sender, SUPPORT, story.subject, _Thread())
        message["Auto-Submitted"] = "auto-replied"
        message.set_content(story.body)
        message.make_mixed()
        message.set_type("multipart/report")
        message.set_param("report-type", "delivery-status")
        status = EmailMessage()
        status["Content-Type"] = "message/delivery-status"
        status.set_payload([
            _fields({"Reporting-MTA": "dns; mx.frontdesk.example", "Arrival-Date": format_datetime(self.clock.now())}),
            _fields({"Final-Recipient": "rfc822; j.doe@initech.example", "Action": "failed", "Status": "5.1.1",
                     "Diagnostic-Code": "smtp; 550 5.1.1 <j.doe@initech.example>: User unknown"}),
        ])
        original = EmailMessage()
        original.set_content(
            f"From: {SUPPORT}\nTo: j.doe@initech.example\nSubject: Your renewal quote\n", subtype="rfc822-headers"
        )
        message.attach(status)
        message.attach(original)
        return message

    def _deliver(self, message: EmailMessage, thread: _Thread, text: str, inbound: bool) -> None:
        now = self.clock.now()
        if message.is_multipart():
            message.set_boundary(f"=_demo_{self.rng.getrandbits(64):016x}")  # not random per run
        head = ""
        if inbound:
            host = f"mail.{_domain(str(message['From']))}"
            head = (
                f"Received: from {host} ({host} [198.51.100.{self.rng.randrange(2, 250)}])\r\n"
                f"\tby mx.frontdesk.example with ESMTPS id {self.rng.getrandbits(40):010x};\r\n"
                f"\t{format_datetime(now)}\r\n"
            )
        raw = head.encode() + message.as_bytes(policy=email.policy.SMTP)
        self.ingestor.ingest(raw, source="demo", received_at=now)
        thread.message_ids.append(str(message["Message-ID"]))
        thread.last_text = text
        thread.last_from = str(message["From"])
        thread.last_date = str(message["Date"])

    def _message_id(self, domain: str) -> str:
        return f"<{self.rng.getrandbits(64):016x}.{self.rng.getrandbits(20):05x}@{domain}>"


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].lower()


def _fields(values: dict[str, str]) -> Message:
    """One header block of a delivery status report."""
    block = Message()
    for name, value in values.items():
        block[name] = value
    return block


def build_demo(folder: Path, now: datetime, database: str | None = None) -> tuple[Path, Path | str]:
    """Write folder/config.toml and a fresh database holding the week before `now`: folder/frontdesk.db,
    or `database`, an empty PostgreSQL database given by URL. Returns the config file and the database."""
    make_folder(folder)  # private (0700) when it has to be made
    config_path, target = folder / "config.toml", database or folder / "frontdesk.db"
    if database is None:
        for stale in (target, target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            stale.unlink(missing_ok=True)  # a rebuild starts from nothing, never on top of the last one
    write_private(config_path, config_text(now))
    clock = FrozenClock(now - timedelta(days=8))  # before the first story
    store = Store.open(target, load_config(config_path, system=False), clock)
    try:
        _Week(store, clock).play(STORIES, now)
    finally:
        store.close()
    return config_path, target
