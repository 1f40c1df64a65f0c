package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.export.AtomicDirectory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;

/**
 * Exports a session's graph as a SavedModel (tag {@value LoadedSavedModel#SERVE_TAG}) that carries,
 * beside the caller's signatures, the {@value RegularizationSignature#KEY} signature.
 *
 * <pre>{@code
 * Signature regularization = RegularizedSavedModel.exporter(session, L1L2.of(1e-5, 1e-4))
 *     .variables(Map.of("dense/kernel", kernel, "dense/bias", bias))
 *     .signature(Signature.builder().input("x", x).output("logits", logits).build())
 *     .exportTo(Path.of("my-model"));
 * }</pre>
 *
 * <p>The directory is written as a whole: into a temporary sibling first, renamed into place when
 * complete. Loaded back with {@code SavedModelBundle.load(dir, "serve")}, the {@value
 * RegularizationSignature#KEY} function returns the values the session computes for the same
 * outputs before the export.
 */
public final class RegularizedSavedModel {
  private RegularizedSavedModel() {}

  /**
   * Starts an export of {@code session}'s graph regularized by {@code regularizer}.
   *
   * @param session a session over the graph that holds the variables
   * @param regularizer the coefficients and selection ({@code on}) of the signature
   * @return a new exporter with no variables and no signatures yet
   * @throws NullPointerException if {@code session} or {@code regularizer} is null
   */
  public static Exporter exporter(Session session, L1L2 regularizer) {
    return new Exporter(
        Objects.requireNonNull(session, "session must not be null"),
        Objects.requireNonNull(regularizer, "regularizer must not be null"));
  }

  /** Collects what to export; not thread-safe, usable for several exports. */
  public static final class Exporter {
    private final Session session;
    private final L1L2 regularizer;
    private final Map<String, Operand<?>> variables = new LinkedHashMap<>();
    private final List<Signature> signatures = new ArrayList<>();

    private Exporter(Session session, L1L2 regularizer) {
      this.session = session;
      this.regularizer = regularizer;
    }

    /**
     * Adds the variables the signature regularizes (after {@code on} selection), by name, in the
     * order of its {@value RegularizationSignature#PER_VARIABLE} output.
     *
     * @param namedVariables floating variables (or reads of them) of the session's graph, by the
     *     name that {@code on} matches and the signature reports; neither keys nor values may be
     *     null
     * @return this exporter
     * @throws IllegalArgumentException if a name was added before
     */
    public Exporter variables(Map<String, ? extends Operand<?>> namedVariables) {
      Objects.requireNonNull(namedVariables, "namedVariables must not be null");
      for (Map.Entry<String, ? extends Operand<?>> entry : namedVariables.entrySet()) {
        String name = Objects.requireNonNull(entry.getKey(), "a variable name is null");
        if (variables.containsKey(name)) {
          throw new IllegalArgumentException("variable \"" + name + "\" was already added");
        }
        variables.put(name, Objects.requireNonNull(entry.getValue(), "variable " + name));
      }
      return this;
    }

    /**
     * Adds one of the model's own signatures.
     *
     * @param signature a signature over tensors of the session's graph, e.g. {@code
     *     serving_default}
     * @return this exporter
     * @throws IllegalArgumentException if its key is {@value RegularizationSignature#KEY} or was
     *     added before
     */
    public Exporter signature(Signature signature) {
      Objects.requireNonNull(signature, "signature must not be null");
      if (signature.key().equals(RegularizationSignature.KEY)) {
        throw new IllegalArgumentException(
            "signature key \""
                + RegularizationSignature.KEY
                + "\" is reserved for the "
                + "regularization signature the export adds");
      }
      for (Signature added : signatures) {
        if (added.key().equals(signature.key())) {
          throw new IllegalArgumentException(
              "a signature with key \"" + signature.key() + "\" was already added");
        }
      }
      signatures.add(signature);
      return this;
    }

    /**
     * Adds the regularization ops to the graph and writes the SavedModel to {@code directory}.
     *
     * @param directory a directory that does not exist yet; its parent must exist
     * @return the {@value RegularizationSignature#KEY} signature that was exported
     * @throws IllegalArgumentException if no variable was added or {@code on} selects none
     * @throws SavedModelException if {@code directory} exists, its parent does not, or writing
     *     fails
     */
    public Signature exportTo(Path directory) {
      Objects.requireNonNull(directory, "directory must not be null");
      // Checked before any op is added, so that a refused export leaves the graph as it was.
      ExportDirectory.checkAvailable(directory, "directory");
      Graph graph = session.graph();
      Signature regularization =
          RegularizationSignature.create(Ops.create(graph), regularizer, variables);
      AtomicDirectory.create(
          directory,
          "directory",
          temporary -> {
            SavedModelBundle.Exporter exporter =
                SavedModelBundle.exporter(temporary.toString()).withSession(session);
            for (Signature signature : signatures) {
              exporter.withSignature(signature);
            }
            exporter.withSignature(regularization).export();
            return null;
          });
      return regularization;
    }
  }
}
