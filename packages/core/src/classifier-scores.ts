/**
 * Classifier scores from logits (N, K) and penultimate features (N, D), written once
 * against the tensor-ops contract. Every score is higher = more in-distribution and
 * returns one value per sample, shape (N).
 */
import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { FstaError } from './errors.js';
import { checkTemperature, rank2 } from './host.js';

const scaled = <T>(o: TensorOps<T>, logits: T, t: number): T => (t === 1 ? logits : o.div(logits, o.constant([t], [])));

/** Maximum softmax probability, max_k softmax(z/T)_k, in (0, 1]. */
export function msp<T>(ops: TensorOps<T>, logits: T, temperature = 1): T {
  rank2(ops, logits, 'logits');
  checkTemperature(temperature);
  return tidy(ops, (o) => o.max(o.softmax(scaled(o, logits, temperature), -1), [-1]));
}

/** The largest logit. */
export function maxLogit<T>(ops: TensorOps<T>, logits: T): T {
  rank2(ops, logits, 'logits');
  return tidy(ops, (o) => o.max(logits, [-1]));
}

/** Energy score T·logsumexp(z/T) (the negative free energy; Liu et al. 2020). */
export function energy<T>(ops: TensorOps<T>, logits: T, temperature = 1): T {
  rank2(ops, logits, 'logits');
  checkTemperature(temperature);
  if (temperature === 1) return tidy(ops, (o) => o.logsumexp(logits, [-1]));
  return tidy(ops, (o) => o.mul(o.logsumexp(scaled(o, logits, temperature), [-1]), o.constant([temperature], [])));
}

/**
 * ODIN's temperature-scaled MSP (Liang et al. 2018), default T = 1000. Only the
 * temperature part: ODIN's input perturbation needs the gradient of the loss with
 * respect to the input image, which inference-only runtimes (onnxruntime, tf.js graph
 * models) do not give, so it is not offered.
 */
export function odinScore<T>(ops: TensorOps<T>, logits: T, temperature = 1000): T {
  return msp(ops, logits, temperature);
}

/**
 * GradNorm (Huang et al. 2021) in closed form for the last linear layer. With the
 * uniform-target cross-entropy L = −(1/K)Σ_k log softmax(z)_k, ∂L/∂W = (p − 1/K)·hᵀ,
 * whose L1 norm factors as (Σ_k |p_k − 1/K|)·(Σ_d |h_d|). `penultimate` is h, the
 * input of the head that produced `logits`.
 */
export function gradNorm<T>(ops: TensorOps<T>, penultimate: T, logits: T): T {
  const [n1] = rank2(ops, penultimate, 'penultimate features');
  const [n2, k] = rank2(ops, logits, 'logits');
  if (n1 >= 0 && n2 >= 0 && n1 !== n2) throw new FstaError('SHAPE_MISMATCH', `penultimate features have ${n1} samples but logits have ${n2}`, 'pass features and logits of the same batch');
  return tidy(ops, (o) => {
    const p = o.softmax(logits, -1);
    // With K unknown until run time, mean_k p_k is exactly 1/K because Σ_k p_k = 1.
    const uniform = k > 0 ? o.constant([1 / k], []) : o.mean(p, [-1], true);
    return o.mul(o.sum(o.abs(o.sub(p, uniform)), [-1]), o.sum(o.abs(penultimate), [-1]));
  });
}
