package io.github.tfl1l2;

import org.tensorflow.GraphOperation;
import org.tensorflow.Output;

/**
 * The ops that only forward a variable's value, {@code Identity} and {@code ReadVariableOp}: a
 * parameter read through them is named after the variable and placed on its device.
 */
final class ReadChain {
  private ReadChain() {}

  /**
   * What {@code output} reads, when its op is a graph {@code Identity} or {@code ReadVariableOp}
   * with one input; null for any other op, and for eager operands.
   */
  static Output<?> readFrom(Output<?> output) {
    if (output.op() instanceof GraphOperation op
        && (op.type().equals("Identity") || op.type().equals("ReadVariableOp"))
        && op.numInputs() == 1) {
      return op.input(0);
    }
    return null;
  }
}
