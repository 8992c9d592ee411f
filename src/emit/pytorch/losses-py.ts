// The Python a compiled PyTorch module carries for training it as rnnc train does: its three losses, normalised as src/tfjs/train.ts's.

/** `rnnc_crossentropy`, `rnnc_mse` and `rnnc_ctc`: the mean over valid steps (or examples, for CTC), as rnnc defines them. */
export const LOSSES_PY = `

def _valid(lengths: Tensor, T: int, dtype: torch.dtype) -> Tensor:
    return (torch.arange(T, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)).to(dtype)


def rnnc_crossentropy(scores: Tensor, targets: Tensor, lengths: Optional[Tensor] = None, probabilities: bool = False) -> Tensor:
    """rnnc train's cross-entropy: scores [B, T, C] with targets [B, T] (or [B, C] with [B]) class ids, the mean over
    each example's own steps (\`lengths\`; all steps without). \`probabilities\`: the output ends in a softmax."""
    if scores.dim() == 2:
        scores, targets = scores.unsqueeze(1), targets.unsqueeze(1)
    on = _valid(lengths if lengths is not None else torch.full([scores.shape[0]], scores.shape[1], dtype=torch.int64, device=scores.device), scores.shape[1], scores.dtype)
    logp = torch.log(scores + 1e-7) if probabilities else F.log_softmax(scores, -1)
    picked = logp.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1)
    return -(picked * on).sum() / on.sum().clamp(min=1.0)


def rnnc_mse(values: Tensor, targets: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
    """rnnc train's mean squared error: values and targets [B, T, …] (or [B, …] without lengths), the mean over each
    example's own steps and the values of a step."""
    if lengths is None:
        return ((values - targets) ** 2).mean()
    on = _valid(lengths, values.shape[1], values.dtype).view([values.shape[0], values.shape[1]] + [1] * (values.dim() - 2))
    width = 1
    for d in values.shape[2:]:
        width *= d
    return (((values - targets) ** 2) * on).sum() / (on.sum().clamp(min=1.0) * width)


def rnnc_ctc(scores: Tensor, lengths: Tensor, labels: Tensor, label_lengths: Tensor, blank: int = 0, probabilities: bool = False) -> Tensor:
    """rnnc train --loss ctc: torch's ctc_loss over scores [B, T, C] (each example's first \`lengths\` steps) and labels
    [B, S] (the first \`label_lengths\` of each), every example's divided by its label count, the mean over the batch."""
    logp = torch.log(scores + 1e-7) if probabilities else F.log_softmax(scores, -1)
    per = F.ctc_loss(logp.transpose(0, 1), labels, lengths, label_lengths, blank=blank, reduction="none", zero_infinity=False)
    return (per / label_lengths.clamp(min=1).to(per.dtype)).mean()
`;
