"""Compose the hour-long gold meeting (bench/gold/en_long_review.json), reproducibly.

Hand-written exchanges carry every gold item, spread over eight agenda blocks; around them,
status talk that decides and assigns nothing (facts, answered questions, reactions) pads the
meeting to about an hour so the minutes' map-reduce runs. Run it only to regenerate the file:

    python bench/gold/compose_long.py
"""

import json
import random
from pathlib import Path


def timed(lines, seed=1, wps=2.6):
    """Segments with plausible times: words / speaking rate, with short pauses between turns."""
    rng = random.Random(seed)
    t, out = 1.5, []
    for speaker, text in lines:
        duration = round(len(text.split()) / wps + rng.uniform(0.2, 0.8), 1)
        out.append({"speaker": speaker, "start": round(t, 1), "end": round(t + duration, 1), "text": text})
        t += duration + rng.uniform(0.3, 1.4)
    return out


def write(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")

L, O, B, K, M = "laura", "omar", "beatriz", "kevin", "mei"  # noqa: E741 (speaker initials)
PEOPLE = [L, O, B, K, M]
rng = random.Random(2026)


FACTS = {
 "incidents": (O, [
  "We had nine incidents this quarter, two of them Sev1, and both were in the payments path.",
  "The median time to acknowledge a page is down to four minutes, from eleven at the start of the quarter.",
  "Most of the night pages came from the same three alerts, and two of those alerts were noisy rather than real.",
  "The longest incident was the DNS outage in October, which lasted about two hours end to end.",
  "We retired fourteen alerts that nobody had acted on in six months, which cut the paging volume by a third.",
  "The on-call survey came back with an average of three point one out of five, slightly better than in the summer.",
  "About sixty percent of our incidents started with a configuration change rather than a code deploy.",
  "The status page was updated within fifteen minutes for every customer-facing incident this quarter.",
  "The payments team now has its own runbooks, so fewer of their pages escalate to us.",
  "We spent roughly eighty engineer hours on incident follow-up work, which is in line with last quarter.",
 ]),
 "costs": (M, [
  "The cloud bill for the quarter came in at four hundred and twelve thousand dollars, about six percent over the forecast.",
  "Most of the overrun is storage: the log buckets grew by forty percent since July.",
  "Compute is actually under forecast, thanks to the autoscaling changes made in September.",
  "The data transfer line doubled when the analytics team started copying snapshots between regions.",
  "Our reserved instances cover about seventy percent of the steady compute load right now.",
  "The three biggest cost centres are the data warehouse, the logging stack and the customer portal, in that order.",
  "Staging costs us about eighteen thousand a month, which is more than some production services.",
  "The spot instances for the batch jobs saved about thirty thousand over the quarter.",
  "Finance closes the books on the fifth working day, so any correction after that lands in the next month.",
  "The tagging coverage is at eighty-five percent, so some of the spend still cannot be attributed to a team.",
 ]),
 "security": (B, [
  "We have a hundred and forty open vulnerabilities, of which six are critical and thirty-one are high.",
  "The oldest critical one is in the image processing library and it has been open for fifty days.",
  "Dependency scanning now runs on every repository, including the archived ones.",
  "The phishing simulation in October had a click rate of eight percent, down from fourteen in the spring.",
  "Two teams still deploy with long-lived access keys, everyone else moved to short-lived credentials.",
  "The external audit found no major issue, only three minor remarks about documentation.",
  "Secrets scanning caught four leaked tokens in pull requests, all of them revoked within the hour.",
  "Single sign-on now covers every internal tool except the old wiki.",
  "The security champions programme has one volunteer per product team, except for mobile.",
  "Our mean time to patch a high vulnerability is around forty days at the moment.",
 ]),
 "data": (K, [
  "The warehouse holds about ninety terabytes now, and it grows by roughly three terabytes a month.",
  "The nightly batch finishes at six in the morning on average, but on month-end it runs until nine.",
  "Sixty-two dashboards read directly from the old cluster, and twenty of them have not been opened in a year.",
  "The new cluster passed the load test at twice our current query volume.",
  "Query costs dropped by a quarter after we partitioned the events table by day.",
  "The finance reports are the heaviest consumers, they account for almost half of the compute at month-end.",
  "Data quality checks now run on the twelve most used tables, and they caught two broken pipelines last month.",
  "The ingestion lag is under five minutes for ninety-nine percent of the events.",
  "We still have about thirty scheduled queries owned by people who have left the company.",
  "The schema registry is in place, and every new event type goes through it.",
 ]),
 "kubernetes": (O, [
  "The production clusters run Kubernetes 1.29, which goes out of support in February.",
  "Staging is already on 1.30 and has been stable for six weeks.",
  "Three services still use the old ingress annotations, which are removed in 1.31.",
  "We have forty-two node pools across the four clusters, and about half of them could be merged.",
  "The last upgrade took us eleven working days, mostly because of one stateful service.",
  "The cluster autoscaler has been reliable since we fixed the scale-down delay in October.",
  "About a third of the workloads do not set memory limits, which makes the scheduling harder.",
  "The service mesh sidecars use about eight percent of the cluster memory on their own.",
  "The managed control plane had one short outage this quarter, around twenty minutes, with no customer impact.",
  "All the Helm charts are now in the same repository, which makes the upgrades easier to review.",
 ]),
 "observability": (K, [
  "We ingest about two terabytes of logs a day, and roughly half of it is debug level from three services.",
  "Tracing covers the payments path end to end, but only about forty percent of the other requests.",
  "The current log vendor contract ends in April.",
  "The self-hosted Grafana has about three hundred dashboards, and the top twenty get most of the traffic.",
  "Metrics cardinality went up after the mobile team added user identifiers as labels, and it has been cleaned up since.",
  "The log retention is thirty days for everything, which is more than most teams need.",
  "The second vendor offers a lower price per gigabyte, but charges separately for the dashboards.",
  "Alert routing moved entirely to the new paging tool in September.",
  "The synthetic checks run every minute from three regions.",
  "Error budgets are published for the six most critical services, and four of them are within budget.",
 ]),
 "hiring": (L, [
  "The platform team is eleven people today, with one person on parental leave until March.",
  "We closed the data engineer position in October, and she starts on the first of December.",
  "The SRE role we posted in the summer had about ninety applicants, but very few with on-call experience.",
  "The Lisbon office has four engineers now and more desk space than it uses.",
  "Interview feedback says our take-home exercise takes too long, about six hours on average.",
  "Attrition on the team was zero this year, which I am very happy about.",
  "The on-call load per person is about one week in five at the moment.",
  "The mentoring pairs have been running for three months and the feedback is positive.",
  "Two people asked to move partly to the security side, and we are discussing it with Beatriz.",
  "The training budget was mostly spent on the Kubernetes certification and two conferences.",
 ]),
 "roadmap": (L, [
  "The developer survey put the internal documentation and the environment setup as the two biggest pains.",
  "New engineers take about nine days to get their first change into production.",
  "Three product teams have built their own little service catalogues in spreadsheets.",
  "The golden path templates cover the Python and Go services but not the front-end ones.",
  "About seventy percent of the services deploy through the shared pipeline now.",
  "The self-service database request form cut the tickets to our queue by half.",
  "The product teams ask most often for preview environments per pull request.",
  "Our internal NPS from the developer survey was plus eighteen, up from plus five last year.",
  "Feature flags are used by nine teams, and the vendor contract renews in June.",
  "The roadmap review with the product directors is scheduled for the second week of January.",
 ]),
}
LEADS = ["", "So, ", "Just to give you the picture, ", "On that point, ", "For context, ", "Right, ",
         "One more number: ", "Also, ", "Quickly, ", "If I look at the trend, "]
QUESTIONS = [
 ("Is that a stable trend or a one-off?", ["Fairly stable, it has looked like that for about three months.",
   "Mostly stable. There was one bad week in October, but otherwise it is steady."]),
 ("How does that compare with last quarter?", ["A bit better than last quarter, but not by much.",
   "Roughly the same as last quarter, within a few percent."]),
 ("Where does that number come from?", ["From the monthly report, I can share the link after the meeting.",
   "From our own dashboards, cross-checked with the vendor's figures."]),
 ("Is that across all teams or only ours?", ["Across all teams, it is the company-wide figure.",
   "Only our scope, the product teams have their own numbers."]),
 ("Sorry, can you repeat the last figure?", ["Sure, I can repeat it, it is in the slides as well."]),
]
REACTIONS = ["Okay, that's useful context.", "Thanks, that's clearer now.", "That matches what I saw too.",
 "Interesting, I would have guessed the opposite.", "Good to know.", "Right, that makes sense.",
 "Okay. That's better than I expected, to be honest.", "Hm, that's a lot.", "Yes, I remember that one.",
 "That's consistent with the survey, actually."]

def filler(topic, n_exchanges):
    owner, facts = FACTS[topic]
    pool = facts * 4
    rng.shuffle(pool)
    out = []
    for _ in range(n_exchanges):
        speaker = owner if rng.random() < 0.7 else rng.choice(PEOPLE)
        out.append((speaker, rng.choice(LEADS) + pool.pop()))
        r = rng.random()
        others = [p for p in PEOPLE if p != speaker]
        if r < 0.35:
            q, answers = rng.choice(QUESTIONS)
            out.append((rng.choice(others), q))
            out.append((speaker, rng.choice(answers)))
        elif r < 0.75:
            out.append((rng.choice(others), rng.choice(REACTIONS)))
        if rng.random() < 0.5:
            out.append((speaker, rng.choice(LEADS[1:]) + pool.pop()))
    return out

BLOCKS = [
 ("incidents", [(L, "Good morning everyone. This is the platform quarterly review. We have eight topics and an hour, so let's keep each one short. First, incidents and on-call. Omar?")],
  [
   (L, "For the two Sev1s, I only saw a postmortem for one of them."),
   (O, "Right, the second one never got written up. It is a recurring problem: when the incident is over, everyone moves on."),
   (B, "We should make it a rule. Every Sev1 gets a written postmortem within five working days, no exceptions."),
   (L, "Agreed. That is decided: every Sev1 incident gets a written postmortem within five working days."),
   (O, "About the maintenance window: some people wanted to move it, but I'd keep Thursday nights for now."),
   (L, "Fine, we keep Thursday nights for the maintenance window."),
   (L, "Omar, the December rotation isn't out yet, and people want to plan their holidays."),
   (O, "Yes, sorry. I'll publish the on-call rotation for December by Thursday."),
  ]),
 ("costs", [(L, "Next, cloud costs. Mei, over to you.")],
  [
   (O, "Do we know if the reserved instance discount applies to the new region as well?"),
   (M, "I'm not sure, I would have to check the contract."),
   (K, "Could we just switch off the staging environment at night and on weekends? That's easy money."),
   (L, "I'd rather not. The Bangalore team tests on staging during our night, we'd block them. So no, staging stays up."),
   (K, "Okay, fair, I had forgotten about them."),
   (L, "Mei, what would help most is to see the spend per team."),
   (M, "I'll send the cost breakdown per team by the end of the month."),
  ]),
 ("security", [(L, "Security now. Beatriz.")],
  [
   (B, "The real issue is the patching time. Forty days for a high is too slow. I'd like a clear policy: criticals patched within seven days, highs within thirty."),
   (O, "Seven days is tight for some of the stateful services, but it's doable if we plan for it."),
   (L, "Then let's adopt it. Critical vulnerabilities are patched within seven days and high ones within thirty days."),
   (B, "Thanks. And the customer portal hasn't had a penetration test this year. I'll schedule the penetration test of the customer portal with the external firm by December 4."),
  ]),
 ("data", [(L, "Data platform and the warehouse migration. Kevin?")],
  [
   (K, "The plan was to migrate the warehouse in January, but January is the year-end close for finance, and they are our heaviest users."),
   (M, "Yes, January would be painful for us. Any downtime during the close is a real problem."),
   (L, "Then we move it. The warehouse migration to the new cluster happens in February, not January."),
   (K, "Okay. I'll write the rollback plan for the warehouse migration, so we know exactly how to go back if it fails."),
   (M, "One thing I can't answer today: can the finance reports tolerate a full day of downtime during the migration? I need to ask the controllers."),
   (L, "Let's leave that open until Mei has talked to the controllers."),
  ]),
 ("kubernetes", [(L, "Kubernetes upgrade. Omar again.")],
  [
   (O, "My proposal is to upgrade production to 1.31 in two waves: the internal clusters first, then the customer-facing ones two weeks later."),
   (K, "Why not skip straight to 1.32? We'd save one upgrade cycle."),
   (O, "1.32 isn't available on our managed offering yet, and the ingress changes would pile up. I wouldn't."),
   (L, "No, we won't jump to 1.32. We upgrade the production clusters to 1.31 in two waves, as Omar proposed."),
   (O, "I'll upgrade the staging cluster first, this Friday, to flush out the ingress issues."),
   (O, "And there's a clash: the upgrade waves would land on Thursday nights, which is the release train. Can we move the maintenance window to Tuesday nights?"),
   (L, "Yes, that's a better slot anyway. We move the maintenance window to Tuesday nights starting in December, instead of Thursday."),
  ]),
 ("observability", [(L, "Observability and the log vendor. Kevin.")],
  [
   (K, "We have two quotes for the logging contract renewal. They're hard to compare because they count differently."),
   (L, "Kevin, can you put them side by side?"),
   (K, "Yes, I'll compare the two log vendors' quotes on the same volume assumptions."),
   (O, "And should we keep our self-hosted Grafana, or move to the vendor's dashboards? I honestly don't know what's better."),
   (L, "That depends on the quotes. We're not deciding that today, it stays open."),
  ]),
 ("hiring", [(L, "Team and hiring. That's me.")],
  [
   (L, "Given the on-call load, I'd like to open two SRE positions in the first quarter, and one of them in Lisbon."),
   (M, "The budget for two is in the plan, I checked last week."),
   (O, "Yes please. Lisbon also gives us better time zone coverage."),
   (L, "Good, so that's decided: we open two SRE positions in Q1, one of them based in Lisbon."),
   (L, "I'll ask HR to publish the two SRE job offers."),
  ]),
 ("roadmap", [(L, "Last topic, the Q1 roadmap.")],
  [
   (M, "Before that, to answer Omar's question from earlier: I checked the contract during the break, and the reserved instance discount does apply to the new region."),
   (O, "Great, thanks Mei."),
   (L, "For Q1, given the survey, I want the internal developer portal to be our top priority. Objections?"),
   (K, "None, it solves the catalogue problem too."),
   (L, "Then it's decided: the internal developer portal is the top priority for Q1."),
   (B, "I'll need to review the access model of the portal before anything goes live. I'll review the developer portal's access model next week."),
   (M, "Who pays for the portal's licences, though? The platform budget, or each product team?"),
   (L, "I don't know yet, that needs a discussion with the product directors. It remains open."),
   (L, "Thanks everyone, good session. Notes will go out this afternoon."),
  ]),
]
lines = []
for topic, intro, key in BLOCKS:
    lines += intro
    body = filler(topic, 21)
    cut = len(body) * 2 // 3
    lines += body[:cut] + key + body[cut:]
doc = {
 "id": "en_long_review", "title": "Platform quarterly review", "language": "en",
 "date": "2026-11-24T09:00:00", "timezone": "America/Toronto", "room": "platform-qbr",
 "note": "Composed: hand-written exchanges carry every gold item; the status talk around them (facts, answered questions, reactions) decides and assigns nothing.",
 "participants": [
  {"identity": L, "name": "Laura Chen"}, {"identity": O, "name": "Omar Haddad"},
  {"identity": B, "name": "Beatriz Santos"}, {"identity": K, "name": "Kevin Walsh"},
  {"identity": M, "name": "Mei Tanaka"}],
 "segments": timed(lines, seed=3, wps=2.4),
 "gold": {
  "decisions": [
   "Every Sev1 incident gets a written postmortem within five working days",
   "Critical vulnerabilities are patched within seven days and high ones within thirty days",
   "The warehouse migration to the new cluster happens in February, not January",
   "Upgrade the production clusters to Kubernetes 1.31 in two waves",
   "Move the maintenance window to Tuesday nights starting in December",
   "Open two SRE positions in Q1, one of them based in Lisbon",
   "The internal developer portal is the top priority for Q1"],
  "action_items": [
   {"owner": "Omar Haddad", "task": "Publish the on-call rotation for December", "due": "2026-11-26", "said": "by Thursday"},
   {"owner": "Mei Tanaka", "task": "Send the cost breakdown per team", "due": "2026-11-30", "said": "by the end of the month"},
   {"owner": "Beatriz Santos", "task": "Schedule the penetration test of the customer portal with the external firm", "due": "2026-12-04", "said": "by December 4"},
   {"owner": "Kevin Walsh", "task": "Write the rollback plan for the warehouse migration", "due": None},
   {"owner": "Omar Haddad", "task": "Upgrade the staging cluster first to flush out ingress issues", "due": "2026-11-27", "said": "this Friday"},
   {"owner": "Kevin Walsh", "task": "Compare the two log vendors' quotes on the same volume assumptions", "due": None},
   {"owner": "Laura Chen", "task": "Ask HR to publish the two SRE job offers", "due": None},
   {"owner": "Beatriz Santos", "task": "Review the access model of the developer portal", "due": "2026-11-30", "said": "next week"}],
  "open_questions": [
   "Can the finance reports tolerate a full day of downtime during the warehouse migration",
   "Keep the self-hosted Grafana or move to the log vendor's dashboards",
   "Who pays for the developer portal's licences, the platform budget or each product team"],
  "rejected_proposals": [
   "Switch off the staging environment at night and on weekends",
   "Skip straight to Kubernetes 1.32",
   "Keep the maintenance window on Thursday nights"]},
}
if __name__ == "__main__":
    write(Path(__file__).with_name("en_long_review.json"), doc)
