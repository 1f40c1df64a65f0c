package io.github.tfl1l2.internal;

import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;

/**
 * The ops that only forward a variable's value, {@code Identity} and {@code ReadVariableOp}: a
 * parameter read through them is named after the variable and placed on its device.
 *
 * <p>Not API: public only because the penalty (naming and placing its parameters) and {@link
 * DataGradients} (finding the variable behind a weight) follow the same chain.
 */
public final class ReadChain {
  private ReadChain() {}

  /**
   * What {@code output} reads, when its op is a graph {@code Identity} or {@code ReadVariableOp}
   * with one input; null for any other op, and for eager operands.
   *
   * @param output any output, graph or eager
   * @return input 0 of {@code output}'s op when that op is such a read, otherwise null
   */
  public static Output<?> readFrom(Output<?> output) {
    if (output.op() instanceof GraphOperation op
        && (op.type().equals("Identity") || op.type().equals("ReadVariableOp"))
        && op.numInputs() == 1) {
      return op.input(0);
    }
    return null;
  }

  /**
   * What {@code operand} reads: the output at the end of its chain of {@code Identity} and {@code
   * ReadVariableOp} reads (a variable, usually), or {@code operand} itself when it is no read.
   *
   * @param operand any operand, graph or eager (an eager one is returned as it is)
   * @return the first output up the chain that {@link #readFrom} does not follow further
   */
  public static Output<?> sourceOf(Operand<?> operand) {
    Output<?> output = operand.asOutput();
    Output<?> read;
    while ((read = readFrom(output)) != null) {
      output = read;
    }
    return output;
  }
}
