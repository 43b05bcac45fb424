"""The committed demo checkpoint and the training loop (CPU, no downloads, no Django)."""

from pathlib import Path

import open_clip
import pytest
import torch

from media_index.embedding.model_configs import DEMO_MODEL_NAME, register_model_configs
from media_index.synthetic.concepts import CONCEPTS, CONCEPTS_BY_KEY
from media_index.synthetic.render import render_picture
from media_index.training.data import GeneratedPairs
from media_index.training.train import contrastive_loss, train

CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "demo-clip" / "demo-clip.safetensors"
# A seed no training pool or evaluation gallery uses.
FRESH_SEED = 987_654


@pytest.fixture(scope="module")
def demo_model():
    register_model_configs()
    model, _, preprocess = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=str(CHECKPOINT))
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(DEMO_MODEL_NAME)


def test_register_model_configs_is_idempotent():
    register_model_configs()
    register_model_configs()
    assert open_clip.list_models().count(DEMO_MODEL_NAME) == 1


def test_shipped_checkpoint_is_small_enough_to_commit():
    # The limit for the generalist model: 40 MB in fp16.
    assert CHECKPOINT.stat().st_size <= 40 * 1024 * 1024


@pytest.mark.parametrize("query", ["a cute puppy", "可爱的小狗", "Max, our puppy, fell asleep on the sofa"])
def test_demo_model_finds_a_freshly_rendered_puppy(demo_model, query):
    model, preprocess, tokenizer = demo_model
    keys = ["dog", "cat", "car", "pizza", "tree", "rocket", "house", "guitar", "banana", "ghost"]
    pictures, labels = [], []
    for copy in range(2):
        for position, key in enumerate(keys):
            pictures.append(render_picture([CONCEPTS_BY_KEY[key]], FRESH_SEED + 100 * copy + position))
            labels.append(key)
    with torch.inference_mode():
        image_vectors = model.encode_image(torch.stack([preprocess(p) for p in pictures]), normalize=True)
        text_vector = model.encode_text(tokenizer([query]), normalize=True)
    ranking = (text_vector @ image_vectors.T)[0].argsort(descending=True).tolist()
    assert labels[ranking[0]] == "dog"
    assert "dog" in [labels[index] for index in ranking[:5]]


@pytest.mark.parametrize("concept_loss", [False, True], ids=["clip-loss", "with-concept-loss"])
@pytest.mark.parametrize("proxies", [False, True], ids=["", "with-proxies"])
def test_training_loop_is_deterministic_for_a_seed(concept_loss: bool, proxies: bool):
    register_model_configs()
    dataset = GeneratedPairs(CONCEPTS[:8], num_images=16, seed=0, captions_per_image=1, progress=False)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model, preprocess, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=None)
        result = train(
            model, preprocess, open_clip.get_tokenizer(DEMO_MODEL_NAME), dataset,
            steps=2, batch_size=8, lr=1e-4, seed=1, progress=False,
            class_names=dataset.class_names() if concept_loss else None, concepts_per_step=6,
            num_classes=dataset.num_classes if proxies else 0,
        )
        runs.append((result.final_loss, torch.cat([param.detach().flatten() for param in model.visual.parameters()])))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])


def test_loss_without_groups_matches_open_clip():
    from open_clip.loss import ClipLoss, SigLipLoss

    torch.manual_seed(0)
    images = torch.nn.functional.normalize(torch.randn(6, 16), dim=-1)
    texts = torch.nn.functional.normalize(torch.randn(6, 16), dim=-1)
    scale, bias = torch.tensor(10.0), torch.tensor(-5.0)
    assert torch.allclose(contrastive_loss(images, texts, scale), ClipLoss()(images, texts, scale))
    assert torch.allclose(contrastive_loss(images, texts, scale, bias), SigLipLoss()(images, texts, scale, bias))


def test_grouped_pairs_are_pulled_together_not_pushed_apart():
    # Given two similar pictures of one concept (with their captions) and one of another
    features = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [1.0, -0.2], [-0.3, 1.0]]), dim=-1)
    before = torch.cosine_similarity(features[0], features[1], dim=0)
    after = {}
    for name, groups in (("grouped", torch.tensor([0, 0, 1])), ("ungrouped", None)):
        images = features.clone().requires_grad_()
        # When one gradient step is taken on the picture features
        contrastive_loss(images, features.clone(), torch.tensor(10.0), groups=groups).backward()
        moved = images.detach() - 0.1 * images.grad
        after[name] = torch.cosine_similarity(moved[0], moved[1], dim=0)
    # Then group-aware training pulls the two together; plain CLIP loss pushes them apart
    assert after["grouped"] > before > after["ungrouped"]


def test_a_resumed_run_takes_exactly_the_steps_of_an_uninterrupted_one(tmp_path):
    """Checkpoint every 2 steps, killed at step 3, resumed: the weights equal a straight run of 5
    (with class proxies, which the training state carries beside the model)."""
    register_model_configs()
    dataset = GeneratedPairs(CONCEPTS[:8], num_images=12, seed=0, captions_per_image=2, progress=False)
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)

    class Killed(Exception):
        pass

    def die(model):  # noqa: ANN001, ANN202 - the "evaluation" at step 3 kills the run
        raise Killed

    def run(*, state: Path | None = None, resume: bool = False, kill: bool = False) -> torch.Tensor:
        torch.manual_seed(0)
        model, preprocess, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=None)
        # 24 pairs in batches of 8: three batches a pass, so step 5 is in the second pass.
        try:
            train(model, preprocess, tokenizer, dataset, steps=5, batch_size=8, lr=1e-3, seed=1, progress=False,
                  warmup_steps=1, checkpoint_path=state, checkpoint_every=2, resume=resume,
                  eval_fn=die if kill else None, eval_every=3, num_classes=dataset.num_classes)  # fmt: skip
        except Killed:
            pass
        return torch.cat([param.detach().flatten() for param in model.parameters()])

    straight = run()
    state = tmp_path / "state.pt"
    interrupted = run(state=state, kill=True)  # leaves the state of step 2
    resumed = run(state=state, resume=True)

    assert state.is_file()
    assert not torch.equal(interrupted, straight)
    assert torch.equal(resumed, straight)


def test_the_concept_batch_holds_the_pictures_concepts_and_spreads_multi_object_targets():
    import random as random_module

    from media_index.training.train import _concept_batch

    names = [(f"thing {index}", f"东西{index}") for index in range(20)]
    classes = [(3,), (5, 7), (3,)]

    chosen, targets = _concept_batch(classes, names, 8, random_module.Random(0))

    assert len(chosen) == 8 and targets.shape == (3, 8)
    # The batch's own concepts come first, named by one of their names.
    assert chosen[0] in names[3] and chosen[1] in names[5] and chosen[2] in names[7]
    assert torch.allclose(targets.sum(dim=1), torch.ones(3))
    assert targets[1, 1] == targets[1, 2] == 0.5


def test_the_concept_loss_pulls_a_picture_to_its_own_name():
    from media_index.training.train import concept_loss

    names = torch.nn.functional.normalize(torch.eye(3), dim=-1)
    picture = torch.nn.functional.normalize(torch.tensor([[0.5, 0.6, 0.2]]), dim=-1).requires_grad_()
    target = torch.tensor([[1.0, 0.0, 0.0]])

    concept_loss(picture, names, torch.tensor(10.0), target).backward()
    moved = picture.detach() - 0.1 * picture.grad

    assert (moved @ names.T)[0, 0] - (moved @ names.T)[0, 1] > (picture @ names.T)[0, 0] - (picture @ names.T)[0, 1]


def test_a_warm_start_copies_every_matching_tensor_and_leaves_grown_ones_alone(tmp_path):
    import json

    from media_index.embedding.model_configs import CONFIG_DIR
    from media_index.training.demo import warm_start

    register_model_configs()
    same, _, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=None)
    assert warm_start(same, CHECKPOINT) == len(same.state_dict())
    shipped, _, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=str(CHECKPOINT))
    assert torch.equal(same.token_embedding.weight, shipped.token_embedding.weight)

    # A grown model (another image trunk, a wider text tower): only what fits is copied.
    config = json.loads((CONFIG_DIR / f"{DEMO_MODEL_NAME}.json").read_text())
    config["vision_cfg"]["timm_model_name"] = "mobilenetv3_small_075"
    config["text_cfg"]["width"] = 192
    (tmp_path / "demo-clip-grown.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path)
    other, _, _ = open_clip.create_model_and_transforms("demo-clip-grown", pretrained=None)
    before = other.visual.state_dict()
    copied = warm_start(other, CHECKPOINT)
    assert 0 < copied < len(other.state_dict())
    assert all(torch.equal(before[name], tensor) for name, tensor in other.visual.state_dict().items())


def test_averaging_with_a_checkpoint_mixes_every_tensor_by_its_weight(tmp_path):
    from media_index.training.demo import average_weights, save_checkpoint

    register_model_configs()
    torch.manual_seed(1)
    first, _, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=None)
    save_checkpoint(first, tmp_path / "first.safetensors")
    torch.manual_seed(2)
    second, _, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=None)
    own = {name: tensor.clone() for name, tensor in second.state_dict().items()}
    theirs = {name: tensor.half().float() for name, tensor in first.state_dict().items()}  # the file is fp16

    average_weights(second, tmp_path / "first.safetensors", weight=0.3)
    mixed = second.state_dict()
    weight = "visual.trunk.conv_stem.weight"
    assert not torch.equal(own[weight], theirs[weight])
    assert torch.allclose(mixed[weight], 0.7 * own[weight] + 0.3 * theirs[weight], atol=1e-6)
    # Integer buffers (BatchNorm's step count) keep their dtype.
    assert all(mixed[name].dtype == own[name].dtype for name in own)

    with pytest.raises(ValueError, match="between 0 and 1"):
        average_weights(second, tmp_path / "first.safetensors", weight=1.5)
    import safetensors.torch

    safetensors.torch.save_file({"visual.proj": torch.zeros(2, 2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not the same architecture"):
        average_weights(second, tmp_path / "other.safetensors", weight=0.3)


def test_the_proxy_loss_pulls_pictures_and_captions_to_their_class_proxy():
    from media_index.training.train import proxy_loss

    proxies = torch.nn.functional.normalize(torch.eye(3), dim=-1)
    feature = torch.nn.functional.normalize(torch.tensor([[0.5, 0.6, 0.2]]), dim=-1).requires_grad_()
    # A red car: mostly "car" (class 0), some "red" (class 2).
    target = torch.tensor([[0.7, 0.0, 0.3]])

    proxy_loss(feature, proxies, torch.tensor(10.0), target).backward()
    moved = feature.detach() - 0.1 * feature.grad

    before, after = (feature @ proxies.T)[0], (moved @ proxies.T)[0]
    assert after[0] - after[1] > before[0] - before[1]
    assert after[2] - after[1] > before[2] - before[1]


def test_the_text_pair_loss_pulls_a_query_to_its_concepts_notes_and_away_from_others():
    from media_index.training.train import text_pair_loss

    # Two notes about pizza (concept 0) and one about a bus (concept 1).
    notes = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [0.9, -0.3], [0.4, 1.0]]), dim=-1)
    queries = torch.nn.functional.normalize(torch.tensor([[0.6, 0.8], [0.7, 0.7], [0.2, 1.0]]), dim=-1)
    concepts = torch.tensor([0, 0, 1])
    moving = queries.clone().requires_grad_()

    text_pair_loss(moving, notes, torch.tensor(10.0), concepts).backward()
    moved = torch.nn.functional.normalize(moving.detach() - 0.1 * moving.grad, dim=-1)

    # "pizza" (query 0) moves towards both pizza notes and away from the bus note.
    before, after = queries[0] @ notes.T, moved[0] @ notes.T
    assert after[0] > before[0] and after[1] > before[1] and after[2] < before[2]


def test_the_hard_negative_loss_pulls_a_red_car_towards_red_and_away_from_yellow():
    from media_index.training.train import hard_negative_loss

    # A picture between "a red car" and "a yellow car", nearer the wrong one.
    red, yellow = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    picture = torch.nn.functional.normalize(torch.tensor([[0.5, 0.7]]), dim=-1).requires_grad_()

    loss = hard_negative_loss(picture, red, yellow, torch.tensor(10.0))
    loss.backward()
    moved = picture.detach() - 0.1 * picture.grad

    assert loss.item() > torch.log(torch.tensor(2.0))  # the wrong caption is ahead
    assert (moved @ red.T) > (picture.detach() @ red.T) and (moved @ yellow.T) < (picture.detach() @ yellow.T)


def test_a_training_step_with_the_extra_terms_adds_their_losses_deterministically():
    register_model_configs()
    from media_index.synthetic.concepts import CONCEPTS_BY_KEY

    # Concepts drawn in a nameable colour, so every batch has colour captions to swap.
    coloured = [CONCEPTS_BY_KEY[key] for key in ("apple", "banana", "strawberry", "car", "flower", "star", "dog")]
    dataset = GeneratedPairs(coloured, num_images=16, seed=0, captions_per_image=1, progress=False,
                             multi_object_probability=0.0, text_pairs=True, colour_negatives=True,
                             text_views=True)  # fmt: skip
    losses = []
    for text_pairs, colours, views in ((0, 0, 0), (1, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)):
        torch.manual_seed(0)
        model, preprocess, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=None)
        result = train(model, preprocess, open_clip.get_tokenizer(DEMO_MODEL_NAME), dataset, steps=1, batch_size=8,
                       lr=1e-4, seed=1, progress=False, text_pair_weight=text_pairs,
                       colour_negative_weight=colours, text_view_weight=views)  # fmt: skip
        losses.append(result.final_loss)
    # Each term is added (a contrastive loss over 8 pairs is well above 0; two near-identical
    # captions, about log 2; two views of one string, less: they are near-identical too, and
    # an untrained tower's texts all look alike) and the run is repeatable.
    assert losses[1] > losses[0] + 0.5
    assert losses[1] == losses[2]
    assert losses[3] > losses[0] + 0.3
    assert losses[4] > losses[0] + 0.05


def test_bucketed_caption_encoding_equals_one_full_pass():
    """Captions of mixed lengths, sorted into buckets each cut at its own longest: the same
    vectors, in the same order, as open_clip's 77-token pass."""
    from media_index.embedding.text_prefix import eot_pooled_text_tower
    from media_index.training.train import TEXT_BUCKET_ROWS, _encode_texts

    register_model_configs()
    torch.manual_seed(0)
    model, _, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=None)
    model.eval()
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    texts = [" ".join(["puppy"] * (index % 37)) or "dog" for index in range(2 * TEXT_BUCKET_ROWS + 5)]
    tokens = tokenizer(texts)
    with torch.inference_mode():
        bucketed = _encode_texts(model, eot_pooled_text_tower(model), tokens)
        full = model.encode_text(tokens, normalize=True)
    assert torch.allclose(bucketed, full, atol=1e-5)
