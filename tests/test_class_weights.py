"""training.class_weighted_loss: the Trainer's loss with each class weighted by n / (2 n_class)."""
import pytest
import torch

from svd_explain.train import class_weighted_loss


def test_class_weighted_loss_weights_the_rarer_class_up():
    train_labels = torch.tensor([1, 1, 1, 0])  # weights: healthy 4 / 2 = 2, pathological 4 / 6
    loss = class_weighted_loss(train_labels)
    logits = torch.tensor([[0.2, 0.9], [1.5, -0.3], [0.0, 0.0]])
    labels = torch.tensor([1, 0, 1])
    per_item = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    expected = (per_item * torch.tensor([2 / 3, 2.0, 2 / 3])).sum()
    assert loss({"logits": logits}, labels, num_items_in_batch=3).item() == pytest.approx(expected.item() / 3)
    # Over an accumulated batch of 8 labels, each micro-batch is divided by 8, as the model's loss is.
    assert loss({"logits": logits}, labels, num_items_in_batch=8).item() == pytest.approx(expected.item() / 8)
    balanced = class_weighted_loss(torch.tensor([0, 1]))
    plain = torch.nn.functional.cross_entropy(logits, labels)
    assert balanced({"logits": logits}, labels).item() == pytest.approx(plain.item())
