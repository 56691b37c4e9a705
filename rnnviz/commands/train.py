"""`rnnviz train`: train a character model headless, printing the loss as the tutorial does."""
from __future__ import annotations

import sys

DEFAULT_MAX_WINDOW = 25


def config_from_args(args):
    """A TrainConfig from the preset, overridden by whatever the command line gives."""
    from rnnviz.teaching.presets import get_preset
    from rnnviz.train.training import TrainConfig, load_text

    spec = get_preset(args.preset)
    if args.text is not None and args.text_file is not None:
        raise ValueError("give --text or --text-file, not both")
    text = spec.text
    if args.text_file is not None:
        text = load_text(args.text_file)
    elif args.text is not None:
        text = args.text
    # A short text is one window ("hello world": one step per epoch, as in the tutorial); a long
    # one is cut into windows of 25 characters (min-char-rnn's choice), not one 10^4-step unroll.
    if args.seq_length is not None and args.seq_length > len(text) - 1:
        raise ValueError(f"--seq-length must be from 1 to {len(text) - 1} for this text ({len(text)} characters: "
                         f"each window needs one more character for its target), got {args.seq_length}")
    seq_length = args.seq_length or max(1, min(len(text) - 1, DEFAULT_MAX_WINDOW))
    # Refuse a bad prefix before training, not after.
    unknown = sorted(set(args.sample_prefix) - set(text))
    if unknown:
        raise ValueError(f"--sample-prefix has characters not in the text: {''.join(unknown)!r}")
    return TrainConfig(
        model=args.model, text=text, hidden_size=spec.hidden_size if args.hidden_size is None else args.hidden_size,
        seq_length=seq_length,
        epochs=args.epochs, lr=args.lr, optimizer=args.optimizer or "sgd", clip=args.clip, seed=args.seed,
        sample_prefix=args.sample_prefix, sample_every=0,
    )


def print_every(epochs: int) -> int:
    """Every epoch for short runs; about 20 lines for long ones (first and last always)."""
    if epochs <= 20:
        return 1
    return 10 if epochs <= 200 else max(10, round(epochs / 20, -1))


def run(args) -> int:
    from rnnviz.train.training import Trainer
    from rnnviz.train.history import TrainingHistory

    from .progress import ProgressLine

    config = config_from_args(args)
    every = print_every(config.epochs)
    clipped = []
    epoch_loss = []

    print(f"training {config.model} (hidden {config.hidden_size}, {config.optimizer} lr {config.learning_rate}, "
          f"seq_length {config.seq_length}) on {len(config.text)} characters, vocabulary {len(config.vocab)}",
          file=sys.stderr)
    trainer = Trainer(config)
    history = TrainingHistory(config, trainer.vocab, [n for n, _ in trainer.model.named_parameters()])
    epochs_done = 0
    try:
        with ProgressLine("training") as line:
            for record in trainer.iterations():
                history.append(record)
                epoch_loss.append(record.loss)
                clipped.append(record.clipped)
                line.update(f"epoch {record.epoch} of {config.epochs}, loss {record.loss:.4f}")
                if record.epoch_end:
                    epochs_done = record.epoch
                    if record.epoch == 1 or record.epoch % every == 0 or record.epoch == config.epochs:
                        print(f"Epoch: {record.epoch}  Loss: {sum(epoch_loss) / len(epoch_loss):.4f}", flush=True)
                    epoch_loss.clear()
    except KeyboardInterrupt:
        return _interrupted(args, history, epochs_done, config.epochs)
    if config.clip is not None:
        print(f"clipping fired on {sum(clipped)} of {len(clipped)} iterations (max norm {config.clip})")
    prefix = args.sample_prefix
    print(f"Sample from {prefix!r}: {trainer.sample(prefix)}")
    if args.output:
        history.save(args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _interrupted(args, history, epochs_done: int, epochs: int) -> int:
    """Ctrl-C: keep what was trained (every finished iteration) when there is a file to keep it in; exit 130."""
    done = f"stopped by Ctrl-C after {epochs_done} of {epochs} epochs ({len(history)} iterations)"
    if args.output and len(history):
        history.save(args.output)
        print(f"rnnviz train: {done}; wrote them to {args.output}", file=sys.stderr)
    else:
        print(f"rnnviz train: {done}; nothing saved" + ("" if args.output else " (no --output given)"), file=sys.stderr)
    return 130
