"""`python manage.py prompt_check < prompts.txt`: one prompt per line in, one JSON line per prompt out:
{"allowed": bool, "category": name or null, "reason": text}."""
import json
import sys

from django.core.management.base import BaseCommand

from safety.prompt_check import prompt_assess_many


class Command(BaseCommand):
    help = "Check prompts read one per line on stdin; write one JSON verdict per line on stdout."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=64, help="prompts embedded together")

    def handle(self, *args, batch: int, **options):
        stream = sys.stdin
        lines = [line.rstrip("\r\n") for line in stream]
        for start in range(0, len(lines), batch):
            chunk = lines[start:start + batch]
            texts = [t for t in chunk]
            verdicts = prompt_assess_many([t if t.strip() else " " for t in texts])
            for text, verdict in zip(texts, verdicts):
                if not text.strip():
                    out = {"allowed": False, "category": None, "reason": "The prompt is empty."}
                else:
                    out = verdict.public()
                self.stdout.write(json.dumps(out, ensure_ascii=False))
