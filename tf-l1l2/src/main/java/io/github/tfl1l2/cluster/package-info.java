/**
 * Training on a TensorFlow gRPC cluster from TF-Java: {@link
 * io.github.tfl1l2.cluster.ClusterSession}, a {@code Session} on a {@code grpc://} target (the one
 * workaround TF-Java 1.1.0 needs there).
 *
 * <p><b>May depend on:</b> TensorFlow-Java only; nothing of this library depends on it.
 */
package io.github.tfl1l2.cluster;
