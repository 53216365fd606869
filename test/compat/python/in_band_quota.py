"""What the openai Python SDK shows its user, with the in-band quota on and off.

Reads one JSON object on stdin:
  {"base_url": ..., "runs": [{"name": ..., "headers": {...}, "stream_key": ..., "json_key": ...}]}
and for each run makes a streamed and a plain chat completion through the SDK
(each with its own key, so each call's quota report starts from an empty ledger).
Prints one JSON object on stdout: for each run's name, what the SDK returned,
every chunk and the answer as the SDK's models dump them, and the gateway's
x_gateway member read back the ways a user can: the model's extra fields
(`model_extra`) and, for the plain answer, the raw HTTP body.
The comparison is the test's (in-band-quota.python.test.ts), where the ledger is.
"""

import json
import sys

import openai

MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
MODEL = "gpt-4o-mini"


def client(base_url, key, headers):
    return openai.OpenAI(base_url=base_url, api_key=key, default_headers=headers, max_retries=0)


def streamed(base_url, key, headers):
    stream = client(base_url, key, headers).chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1]
    return {
        "chunks": [c.model_dump(mode="json") for c in chunks],
        "content": content,
        "usage": last.usage.model_dump(mode="json") if last.usage else None,
        "x_gateway": (last.model_extra or {}).get("x_gateway"),
    }


def plain(base_url, key, headers):
    raw = client(base_url, key, headers).chat.completions.with_raw_response.create(
        model=MODEL, messages=MESSAGES
    )
    answer = raw.parse()
    return {
        "answer": answer.model_dump(mode="json"),
        "content": answer.choices[0].message.content,
        "usage": answer.usage.model_dump(mode="json") if answer.usage else None,
        "x_gateway": (answer.model_extra or {}).get("x_gateway"),
        "raw_x_gateway": json.loads(raw.text).get("x_gateway"),
    }


def main():
    job = json.load(sys.stdin)
    out = {"sdk_version": openai.__version__}
    for run in job["runs"]:
        base, headers = job["base_url"], run["headers"]
        out[run["name"]] = {
            "stream": streamed(base, run["stream_key"], headers),
            "json": plain(base, run["json_key"], headers),
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
