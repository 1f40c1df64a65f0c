/**
 * Framework optimizers that apply an {@code L1L2} penalty through its proximal operator, in
 * TensorFlow's own proximal kernels, so that a weight whose optimum is zero becomes exactly zero.
 *
 * <p><b>API:</b> {@link io.github.tfl1l2.optimizers.ProximalGradientDescent}, {@link
 * io.github.tfl1l2.optimizers.ProximalAdaGrad}. <b>Package-private:</b> {@code ProximalTerms}
 * (argument checks; the kernels' {@code λ1 = weight·l1}, {@code λ2 = 2·weight·l2}), {@code
 * GradientPairs} (which variables train, with which data gradient), {@code ResourceUpdates} (the
 * ordering of resource-variable updates), {@code ResourceSlots} (slots of resource variables).
 *
 * <p><b>May depend on:</b> the public API of {@code io.github.tfl1l2} ({@code L1L2}), {@code
 * io.github.tfl1l2.internal} (the data-gradient, dtype and placement rules shared with {@code
 * L1L2.minimize}), {@code io.github.tfl1l2.gradients} ({@code MissingGradients.register()} before
 * gradients are built), {@code io.github.tfl1l2.xla}, TensorFlow-Java and its framework.
 */
package io.github.tfl1l2.optimizers;
