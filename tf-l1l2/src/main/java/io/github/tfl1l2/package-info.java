/**
 * An L1L2 weight regularizer for TensorFlow-Java graphs and eager sessions: the penalty, its
 * per-parameter sums, its gradient and a fused training step.
 *
 * <p><b>API</b> (public): {@link io.github.tfl1l2.L1L2} (settings, validation, the selection rule
 * {@code selects}, the framework's {@code Regularizer}), {@link io.github.tfl1l2.Reduction}, {@link
 * io.github.tfl1l2.ParameterSums}.
 *
 * <p><b>Below it</b> (package-private, in layers; none refers back to {@code L1L2}, which hands
 * them a {@code PenaltySpec}: name, {@code c1 = weight·l1}, {@code c2 = weight·l2}, XLA,
 * checkNumerics, per-parameter, the selection):
 *
 * <ul>
 *   <li><i>Emitters:</i> {@code PenaltyGraph} (reads, grouping, clusters, casts) over {@code
 *       PartialSums} (the fused and plain formulations); {@code ParameterSums.emit} (the sums of
 *       reports and signatures). Both read weights in the rows of 32 of {@code RowLayout}.
 *   <li><i>Gradient:</i> {@code GradientSurrogate} (the {@code IdentityN} surrogate and its
 *       registration with TensorFlow); {@code FusedGradient} (one fused gradient computation per
 *       weight, used by the surrogate's gradient function, by {@code FusedMinimize} and by {@code
 *       ResourceUpdates}).
 *   <li><i>Training step:</i> {@code FusedMinimize} ({@code L1L2.minimize}), {@code
 *       ResourceUpdates} and {@code OptimizerRule} (resource variables: the framework optimizer's
 *       rule through the {@code ResourceApply*} kernels).
 *   <li><i>Plumbing:</i> {@code Parameter} (validation, naming and device of one operand), {@code
 *       Plumbing} (read, cast, erase, flatten, slice, typed constants).
 * </ul>
 *
 * <p><b>May depend on:</b> {@code io.github.tfl1l2.internal}, {@code io.github.tfl1l2.xla}, {@code
 * io.github.tfl1l2.gradients} ({@code MissingGradients.register()} before gradients are built),
 * TensorFlow-Java ({@code tensorflow-core-api}, and {@code tensorflow-framework} for the {@code
 * Optimizer} and {@code Regularizer} types). Not on {@code optimizers} or {@code cluster}.
 */
package io.github.tfl1l2;
