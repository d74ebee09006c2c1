"""The `openai` Python client against `goodput-lab serve`, unchanged: models, a completion, a
streamed chat with usage, and a 404. Needs `pip install openai` and a server, e.g.
    goodput-lab serve --model smollm2-135m --port 8000 &
    python3 scripts/openai-client-check.py http://127.0.0.1:8000/v1
"""
import sys

from openai import NotFoundError, OpenAI

c = OpenAI(base_url=sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/v1",
           api_key="unused")
model = c.models.list().data[0].id
print("models:", model)
r = c.completions.create(model=model, prompt="The capital of France is", max_tokens=8,
                         temperature=0)
print("completion:", repr(r.choices[0].text), r.usage)
stream = c.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "What is 2+2?"}], max_tokens=20,
    temperature=0, stream=True, stream_options={"include_usage": True})
text, usage = "", None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    usage = chunk.usage or usage
print("chat stream:", repr(text), usage)
assert usage is not None and usage.completion_tokens >= 1
try:
    c.completions.create(model="no-such-model", prompt="x", max_tokens=2)
    raise SystemExit("expected a 404")
except NotFoundError as e:
    print("unknown model:", e.status_code, e.message)
