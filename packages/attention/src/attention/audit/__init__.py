"""Is the attention where the decision comes from? A faithfulness audit for any Keras model that
holds one of this package's attention layers.

    from attention.audit import AttentionAudit

    audit = AttentionAudit(model)                 # finds the attention layer (or name it)
    result = audit.run(x_test[:200])              # a JSON-ready dict of the measures below
    result = audit.run(x, deciding=truth)         # and ground-truth hit rates, where known

One forward pass is recorded (`forward.Forward`, read-only), the importances are computed from it
once (`importance`: gradient × input, `|Σ_d ∂ŷ/∂e_d · e_d|` on the embedding or the input with the
attention held constant; leave-one-out, the output's change when the step is deleted; the
decision's gradient with respect to the weights), and then each measure, one module each:

- `agreement` (Jain & Wallace 2019): Kendall τ-b between the attention and each importance;
- `erasure` (Serrano & Smith 2019): the largest weight zeroed against a random one, and how many
  weights must go, in each order, before the decision flips;
- `permutation` (Jain & Wallace): the weights shuffled among the valid steps, the states fixed;
- `ground_truth`, where the caller knows the deciding steps: does each explanation's top step fall
  on one;
- `eraser` (DeYoung et al. 2020), for classifiers: comprehensiveness, sufficiency and their AOPC;
- `padding`: the attention on padding the model does not mask;
- `adversarial` (Jain & Wallace): per unit, the attention farthest from the learned one (Jensen–
  Shannon divergence) whose output stays within a tolerance, found by gradient descent with the
  states fixed (`AdversarySearch` holds the search's settings);
- `conicity` (Mohankumar et al. 2020): how alike the states the attention reads are, per sample.

A stack of self-attention layers (`TransformerEncoder`) has its own audit, `StackAudit`
(`attention.audit.stack`): attention rollout and flow beside the layers' raw weights, held against
gradient × input, leave-one-out and integrated gradients and the steps known to decide.

A measure declares its key in the result and its summary columns (`summary_columns()`, which the
suite's sweep summaries, report and publisher read), and which of them rest on the attention's own
order (`attention_ranked_columns()`: undefined for equal weights). "The output" is the predicted probability of
a binary classifier (a change is its absolute difference), the class distribution of a softmax
classifier (the total variation distance; a decision is the argmax) or the value of a regression
(its absolute difference; it "flips" when it moves by more than `regression_tolerance`). Where each
output step has its own attention row (an encoder-decoder), every (sample, output step) is one
unit. Masked steps and padding (token 0) are never counted. The gradients use the backend's own
autodiff (`gradients.gradient`): TensorFlow, JAX or PyTorch.
"""

from attention.audit.agreement import kendall_tau
from attention.audit.core import (
    MEASURE_NAMES,
    MEASURES,
    AttentionAudit,
    attention_ranked_columns,
    chosen_measures,
    summary_columns,
)
from attention.audit.erasure import js_divergence
from attention.audit.forward import OUTPUT_KINDS
from attention.audit.measure import AdversarySearch
from attention.audit.stack import StackAudit, flow, rollout

__all__ = [
    "MEASURES",
    "MEASURE_NAMES",
    "OUTPUT_KINDS",
    "AdversarySearch",
    "AttentionAudit",
    "StackAudit",
    "attention_ranked_columns",
    "chosen_measures",
    "flow",
    "js_divergence",
    "kendall_tau",
    "rollout",
    "summary_columns",
]
