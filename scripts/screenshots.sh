#!/usr/bin/env bash
# Regenerates screenshots/*.png from the real window under Xvfb (glow on Mesa llvmpipe).
# Usage: scripts/screenshots.sh   (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p app
bin=target/release/goodput-lab
exp=$(mktemp --suffix=.ron)
# A seeded modeled run (Llama-2-13B shape on datasheet H100s, TPOT SLO 13 ms): deterministic and quick.
$bin bench --scenario h100-chat-13b --num-requests 300 --request-rate 24 --slo-tpot-ms 13 --save-experiment "$exp" >/dev/null
shoot() { # view file after-secs [experiment]
  xvfb-run -a -s "-screen 0 1600x1000x24" "$bin" gui --experiment "${4:-$exp}" --view "$1" \
    --screenshot "screenshots/$2" --after-secs "$3" --size 1600x1000
  echo "screenshots/$2"
}
shoot compare compare.png 30
shoot curves curves.png 30
shoot inspector inspector.png 30
# The Plan view after a search of the default spec (70B on 16 H100-SXM; ~15 s in release).
shoot plan plan.png 300
tiny=$(mktemp --suffix=.ron)
printf '(model: "tiny", synthetic: true, threads: Some(2))\n' > "$tiny"
shoot interference interference.png 60 "$tiny"
# Lesson 4 at its last step (a run with a long prompt injected; the step timeline is outlined).
xvfb-run -a -s "-screen 0 1600x1000x24" "$bin" gui --lesson 4 --lesson-step 4 \
  --screenshot screenshots/lesson.png --after-secs 60 --size 1600x1000
echo screenshots/lesson.png
# Presenter mode: taken 0.5 s of run time after the injected prompt's first token.
xvfb-run -a -s "-screen 0 1600x1000x24" "$bin" gui --presenter \
  --screenshot screenshots/presenter.png --after-secs 150 --size 1600x1000
echo screenshots/presenter.png
# The window as a live server's viewer: bench --target sends requests to its port meanwhile.
live=$(mktemp --suffix=.ron)
printf '(model: "smollm2-135m", synthetic: true, threads: Some(2), modes: [chunked], gpus: 2)\n' > "$live"
xvfb-run -a -s "-screen 0 1600x1000x24" "$bin" gui --experiment "$live" --serve 8950 \
  --screenshot screenshots/live-server.png --after-secs 40 --size 1600x1000 &
sleep 8
"$bin" bench --target http://127.0.0.1:8950 --num-requests 80 --request-rate 3 \
  --prompt-len uniform:32-256 --output-len uniform:8-48 --tokenizer tiny >/dev/null 2>&1 || true
wait
echo screenshots/live-server.png
