/**
 * XLA compilation marks for TF-Java 1.1.0 graphs, which have no public XLA switch: {@link
 * io.github.tfl1l2.xla.XlaScope}, a {@code Scope} that sets {@code _XlaCompile}/{@code _XlaScope}
 * on every op it builds, so that TensorFlow's {@code MarkForCompilation} pass forms one cluster per
 * scope name.
 *
 * <p><b>May depend on:</b> {@code io.github.tfl1l2.internal} ({@code ForwardingScope}) and
 * TensorFlow-Java only.
 */
package io.github.tfl1l2.xla;
