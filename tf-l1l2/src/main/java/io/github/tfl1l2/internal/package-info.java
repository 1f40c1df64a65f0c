/**
 * Not API: classes that are public only because several packages or modules of this library follow
 * the same rule. They may change or go in any release; applications should not use them.
 *
 * <ul>
 *   <li><i>Dtypes:</i> {@link io.github.tfl1l2.internal.FloatingTypes} (the four floating dtypes,
 *       their accumulators, the one dtype error message).
 *   <li><i>Variables and data gradients:</i> {@link io.github.tfl1l2.internal.DataGradients} (what
 *       a variable is, ref or resource; the data loss's gradient of each variable it reaches,
 *       row-sparse for an embedding table read by rows; zero gradients; the NoGradient filter),
 *       {@link io.github.tfl1l2.internal.VariableGradient} (a dense or row-sparse gradient), {@link
 *       io.github.tfl1l2.internal.GradientRules} (which op types a gradient passes).
 *   <li><i>Placement:</i> {@link io.github.tfl1l2.internal.Devices} (the device of a weight;
 *       placing a scope there), {@link io.github.tfl1l2.internal.PinnedScope} (pinning where a
 *       scope ignores {@code withDevice}), {@link io.github.tfl1l2.internal.ForwardingScope} (the
 *       base of {@code PinnedScope} and {@code io.github.tfl1l2.xla.XlaScope}), {@link
 *       io.github.tfl1l2.internal.ReadChain} (the {@code Identity}/{@code ReadVariableOp} reads
 *       behind which a variable stands).
 *   <li><i>Preconditions:</i> {@link io.github.tfl1l2.internal.Checks}.
 * </ul>
 *
 * <p><b>May depend on:</b> TensorFlow-Java only; never on {@code io.github.tfl1l2} or its other
 * packages, which all may use it.
 */
package io.github.tfl1l2.internal;
