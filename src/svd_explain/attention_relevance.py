"""A class-specific attention explainer for the AST: Chefer, Gur & Wolf (ICCV 2021), "Generic
Attention-model Explainability for Interpreting Bi-Modal and Encoder-Decoder Transformers"
(reference code: hila-chefer/Transformer-MM-Explainability), for one class of the output.

Definition: start from R = I (tokens × tokens); for each layer l in order, with A_l its
attention probabilities (heads × tokens × tokens) and ∇A_l their gradient with respect to the
explained class's logit, Ā_l = mean over heads of max(∇A_l ⊙ A_l, 0), and R ← R + Ā_l · R. The
relevance of the patches is the row of the special tokens in R (the mean of CLS and
distillation, as for rollout, or either one), patch columns, mapped back onto the spectrogram
grid like rollout's (`rollout.patches_to_spectrogram`).

Unlike rollout it looks at the output: the gradient says which attention moved the explained
class's logit, and only positive contributions count. `target` is "pathological" (label 1,
whatever the model predicts) or "predicted" (each recording's own argmax).

Captum implements gradient methods on inputs and layers, not this propagation through the
attention maps, so it is written here. It needs the attention probabilities inside the autograd
graph: the model runs with eager attention and `output_attentions`, one backward pass per batch
(the recordings of a batch do not interact, so the gradient of the summed logits is each one's
own)."""
import torch

from svd_explain.ast_model import SPECIAL_TOKENS
from svd_explain.rollout import TOKEN_ROWS, patches_to_spectrogram

TARGETS = ("pathological", "predicted")
PATHOLOGICAL = 1


def propagate(attentions, gradients, tokens="mean"):
    """Patch relevance (batch, N − 2) from each layer's attention probabilities and their
    gradients ((batch, heads, N, N) per layer, in layer order)."""
    if tokens not in TOKEN_ROWS:
        raise ValueError(f"tokens must be one of {sorted(TOKEN_ROWS)}, not {tokens!r}")
    batch, _, n, _ = attentions[0].shape
    relevance = torch.eye(n, dtype=torch.float64, device=attentions[0].device).expand(batch, n, n).clone()
    for attention, gradient in zip(attentions, gradients, strict=True):
        weighted = (gradient.double() * attention.double()).clamp(min=0).mean(dim=1)
        relevance = relevance + torch.bmm(weighted, relevance)
    rows = relevance[:, list(TOKEN_ROWS[tokens])].mean(dim=1)
    return rows[:, SPECIAL_TOKENS:]


def target_classes(logits, target):
    """The class each recording's relevance explains."""
    if target == "pathological":
        return torch.full((logits.shape[0],), PATHOLOGICAL, dtype=torch.long, device=logits.device)
    if target == "predicted":
        return logits.argmax(dim=-1)
    raise ValueError(f"target must be one of {TARGETS}, not {target!r}")


def patch_relevance(model, input_values, target="pathological", tokens="mean"):
    """One forward and one backward pass of a batch (batch, max_length, mel bins): the logits
    (batch, 2) and the patch relevance (batch, N − 2)."""
    device = next(model.parameters()).device
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        with torch.enable_grad():
            # The input asks for gradients so that the attention does even where every weight
            # is frozen (ast_freeze's backbone); the weights' own gradients are not kept.
            inputs = input_values.to(device).detach().requires_grad_(True)
            output = model(inputs, output_attentions=True)
            for attention in output.attentions:
                attention.retain_grad()
            classes = target_classes(output.logits, target)
            output.logits.gather(1, classes[:, None]).sum().backward()
        patches = propagate([a.detach() for a in output.attentions], [a.grad for a in output.attentions], tokens)
    finally:
        model.set_attn_implementation(previous)
        model.zero_grad(set_to_none=True)
    return output.logits.detach(), patches


def relevance_maps(model, input_values, target="pathological", tokens="mean"):
    """Returns (P(pathological) per recording as a float64 array, relevance maps as a float32
    array (batch, mel bins, max_length), uncropped) of a batch (batch, max_length, mel bins)."""
    logits, patches = patch_relevance(model, input_values, target, tokens)
    maps = patches_to_spectrogram(patches, model.config)
    scores = torch.softmax(logits.double(), dim=-1)[:, PATHOLOGICAL]
    return scores.cpu().numpy(), maps.float().cpu().numpy()
