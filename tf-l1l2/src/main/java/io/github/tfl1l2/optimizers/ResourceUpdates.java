package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.internal.DataGradients;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import org.tensorflow.GraphOperation;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TType;

/**
 * How a proximal step orders its updates when some variables are resource variables.
 *
 * <p>Ref variables keep the framework's rule: each ref update waits for every gradient of the step
 * (a global barrier), because a ref kernel writes the variable's buffer in place and a gradient may
 * still read it (through an {@code Identity}, which aliases the buffer).
 *
 * <p>A resource update waits only for its own gradient (its data input) and, through control edges,
 * for the plain reads of its own variable that exist when the step is built ({@link
 * DataGradients#readsToOrderBefore}: no control inputs of their own, not inside an XLA cluster).
 * The reads that feed the loss already run before every gradient; the edges order the others (a
 * metric's read, a read fetched beside the step) before the update too, so that every such read in
 * the step sees the value before the update. That is safe without a barrier because TensorFlow's
 * resource kernels copy on write: an update that finds its buffer still held by a read's tensor
 * writes a fresh buffer, so a read taken before the update keeps its value. A read with control
 * inputs is left out, as an edge from it would pull those inputs (an initializer's assignment, say)
 * into every step; reads built after the step are not ordered either, nor is a fused update's own
 * read inside its XLA cluster (an edge from it would run that whole update).
 */
final class ResourceUpdates {
  private ResourceUpdates() {}

  /** Builds one update for a (gradient, variable) pair in the given {@link Ops}. */
  interface Update extends BiFunction<Ops, GradAndVar<? extends TType>, Op> {}

  /**
   * The updates of {@code pairs}, in their order: {@code refUpdate} (behind the barrier of the
   * gradients of {@code allPairs}, the whole step) for ref variables, {@code resourceUpdate}
   * (behind the variable's plain reads) for resource variables.
   */
  static List<Op> build(
      Ops tf,
      List<GradAndVar<? extends TType>> pairs,
      List<GradAndVar<? extends TType>> allPairs,
      Update refUpdate,
      Update resourceUpdate) {
    List<Op> gradients = new ArrayList<>();
    for (GradAndVar<? extends TType> pair : allPairs) {
      if (DataGradients.hasGradient(pair.getGradient())) {
        gradients.add(pair.getGradient());
      }
    }
    Ops behindAllGradients = tf.withControlDependencies(gradients);
    List<Op> updates = new ArrayList<>();
    for (GradAndVar<? extends TType> pair : pairs) {
      if (!DataGradients.hasGradient(pair.getGradient())) {
        continue;
      }
      Output<?> variable = pair.getVariable();
      if (DataGradients.isResource(variable)) {
        updates.add(resourceUpdate.apply(behindPlainReads(tf, variable), pair));
      } else {
        updates.add(refUpdate.apply(behindAllGradients, pair));
      }
    }
    return updates;
  }

  /**
   * {@code tf} with control edges from the reads of {@code variable} that its update must follow
   * ({@link DataGradients#readsToOrderBefore}, the rule {@code L1L2.minimize} follows too).
   */
  static Ops behindPlainReads(Ops tf, Output<?> variable) {
    List<Op> reads = new ArrayList<>();
    for (GraphOperation read : DataGradients.readsToOrderBefore(variable)) {
      reads.add(read.output(0));
    }
    return reads.isEmpty() ? tf : tf.withControlDependencies(reads);
  }
}
