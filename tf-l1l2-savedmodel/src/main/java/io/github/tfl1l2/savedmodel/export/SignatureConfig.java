package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.SavedModelException;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.types.TFloat64;

/** Reads the {@link L1L2} back from a {@value SignatureLayout#KEY} signature. */
public final class SignatureConfig {
  /**
   * {@link SignatureLayout#methodName(L1L2)}: {@code on} comes last, so that whatever characters
   * its regular expression holds, all of the rest is the expression.
   */
  private static final Pattern METHOD_NAME =
      Pattern.compile(
          Pattern.quote(SignatureLayout.METHOD_PREFIX)
              + "l1=([^,]*),l2=([^,]*),weight=([^,]*)(?:,on=(.*))?",
          Pattern.DOTALL);

  private SignatureConfig() {}

  /**
   * Reads the regularizer that {@code bundle}'s {@value SignatureLayout#KEY} signature records.
   *
   * @param bundle a loaded SavedModel
   * @return the recorded {@code l1}, {@code l2}, {@code weight} and {@code on}, other settings at
   *     their defaults
   * @throws SavedModelException if the signature is missing or not one this library writes
   */
  public static L1L2 read(SavedModelBundle bundle) {
    SignatureDef signature = bundle.metaGraphDef().getSignatureDefMap().get(SignatureLayout.KEY);
    if (signature == null) {
      throw refused(
          "is missing; the signatures are "
              + new TreeSet<>(bundle.metaGraphDef().getSignatureDefMap().keySet()));
    }
    Matcher method = METHOD_NAME.matcher(signature.getMethodName());
    if (!method.matches()) {
      throw refused(
          "has the method name \""
              + signature.getMethodName()
              + "\", not one of the form "
              + SignatureLayout.METHOD_PREFIX
              + "l1=…,l2=…,weight=…[,on=…]");
    }
    double[] coefficients = coefficients(bundle, signature);
    String[] names = {"l1", "l2", "weight"};
    for (int i = 0; i < names.length; i++) {
      if (!sameNumber(method.group(i + 1), coefficients[i])) {
        throw refused(
            "says "
                + names[i]
                + "="
                + method.group(i + 1)
                + " in its method name but "
                + coefficients[i]
                + " in its "
                + SignatureLayout.COEFFICIENTS
                + " output");
      }
    }
    L1L2.Builder config =
        L1L2.builder().l1(coefficients[0]).l2(coefficients[1]).weight(coefficients[2]);
    if (method.group(4) != null) {
      config.on(method.group(4));
    }
    try {
      return config.build();
    } catch (IllegalArgumentException e) {
      throw refused("records a regularizer that cannot be built: " + e.getMessage());
    }
  }

  /** The three float64 values of the {@value SignatureLayout#COEFFICIENTS} output. */
  private static double[] coefficients(SavedModelBundle bundle, SignatureDef signature) {
    TensorInfo output = signature.getOutputsMap().get(SignatureLayout.COEFFICIENTS);
    if (output == null || output.getDtype() != DataType.DT_DOUBLE) {
      throw refused("has no float64 " + SignatureLayout.COEFFICIENTS + " output");
    }
    try (Result result = bundle.session().runner().fetch(output.getName()).run()) {
      TFloat64 values = (TFloat64) result.get(0);
      if (values.shape().numDimensions() != 1 || values.shape().size() != 3) {
        throw refused(
            "has a "
                + SignatureLayout.COEFFICIENTS
                + " output of shape "
                + values.shape()
                + "; [l1, l2, weight] has shape [3]");
      }
      return new double[] {values.getDouble(0), values.getDouble(1), values.getDouble(2)};
    }
  }

  private static boolean sameNumber(String text, double value) {
    try {
      return Double.compare(Double.parseDouble(text), value) == 0;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static SavedModelException refused(String what) {
    return new SavedModelException(
        "the SavedModel's \"" + SignatureLayout.KEY + "\" signature " + what);
  }
}
