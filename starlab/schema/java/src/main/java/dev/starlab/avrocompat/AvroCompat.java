package dev.starlab.avrocompat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.SchemaCompatibility.SchemaPairCompatibility;

/**
 * Java Avro's verdicts on a batch of compatibility cases: the reference starlab's Python checker
 * ({@code starlab/schema/compatibility.py}) is tested against (story 1, "agreeing with Confluent's
 * verdicts").
 *
 * <p>Input, one JSON object per line on stdin:
 *
 * <pre>{"id": "...", "mode": "BACKWARD", "history": ["schema v1", "schema v2"], "candidate": "schema"}</pre>
 *
 * <p>Output, one JSON object per input line, in input order, on stdout:
 *
 * <pre>{"id": "...", "verdict": "compatible" | "incompatible" | "invalid",
 *  "schema": "candidate" | "version N" (invalid only), "error": "parse error" (invalid only),
 *  "incompatibilities": [{"type", "location", "message", "reader", "writer"}]}</pre>
 *
 * <p>Decided as Confluent Schema Registry decides, with no Confluent code (its jars are not on Maven
 * Central):
 *
 * <ul>
 *   <li>every schema is parsed by a fresh {@code new Schema.Parser()}: name validation and default
 *       validation on, as for a schema being registered; any exception is an invalid schema;
 *   <li>BACKWARD: candidate reads the history (candidate = reader); FORWARD: the history reads the
 *       candidate; FULL: both; *_TRANSITIVE: against every earlier version, otherwise the latest
 *       only; NONE or no history: compatible;
 *   <li>each pair goes through {@code SchemaCompatibility.checkReaderWriterCompatibility}; if that
 *       throws (a reader field alias matching two writer fields does), the pair is incompatible,
 *       as Confluent's {@code AvroSchema.isBackwardCompatible} reports it.
 * </ul>
 */
public final class AvroCompat {
  private static final ObjectMapper JSON = new ObjectMapper();

  private AvroCompat() {}

  public static void main(String[] args) throws IOException {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintWriter out =
        new PrintWriter(
            new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8)));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      out.println(JSON.writeValueAsString(decide(JSON.readTree(line))));
    }
    out.flush();
  }

  /** A schema the parser refused, and which one it was. */
  private static final class Invalid extends Exception {
    final String which;

    Invalid(String which, Throwable cause) {
      super(describe(cause), cause);
      this.which = which;
    }
  }

  private static String describe(Throwable error) {
    String message = error.getMessage();
    return error.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  private static Schema parse(String text, String which) throws Invalid {
    try {
      // A fresh parser per schema: each registration is parsed on its own, and a
      // shared parser would refuse the second definition of the same name.
      return new Schema.Parser().parse(text);
    } catch (RuntimeException e) { // SchemaParseException, AvroTypeException, NumberFormatException...
      throw new Invalid(which, e);
    }
  }

  static ObjectNode decide(JsonNode item) {
    ObjectNode result = JSON.createObjectNode();
    result.put("id", item.path("id").asText());
    String mode = item.path("mode").asText().toUpperCase();
    Schema candidate;
    List<Schema> history = new ArrayList<>();
    try {
      candidate = parse(item.path("candidate").asText(), "candidate");
      int version = 1;
      for (JsonNode text : item.path("history")) {
        history.add(parse(text.asText(), "version " + version));
        version++;
      }
    } catch (Invalid e) {
      result.put("verdict", "invalid");
      result.put("schema", e.which);
      result.put("error", e.getMessage());
      result.set("incompatibilities", JSON.createArrayNode());
      return result;
    }

    ArrayNode found = JSON.createArrayNode();
    if (!mode.equals("NONE") && !history.isEmpty()) {
      boolean backward = mode.startsWith("BACKWARD") || mode.startsWith("FULL");
      boolean forward = mode.startsWith("FORWARD") || mode.startsWith("FULL");
      if (!backward && !forward) {
        throw new IllegalArgumentException("unknown compatibility mode: " + mode);
      }
      int oldest = mode.endsWith("_TRANSITIVE") ? 0 : history.size() - 1;
      for (int i = history.size() - 1; i >= oldest; i--) { // newest first, as Confluent does
        String label = "version " + (i + 1);
        if (backward) {
          checkPair(candidate, history.get(i), "candidate", label, found);
        }
        if (forward) {
          checkPair(history.get(i), candidate, label, "candidate", found);
        }
      }
    }
    result.put("verdict", found.isEmpty() ? "compatible" : "incompatible");
    result.set("incompatibilities", found);
    return result;
  }

  private static void checkPair(
      Schema reader, Schema writer, String readerLabel, String writerLabel, ArrayNode found) {
    try {
      SchemaPairCompatibility pair =
          SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
      for (Incompatibility i : pair.getResult().getIncompatibilities()) {
        ObjectNode node = found.addObject();
        node.put("type", i.getType().name());
        node.put("location", i.getLocation());
        node.put("message", i.getMessage());
        node.put("reader", readerLabel);
        node.put("writer", writerLabel);
      }
    } catch (RuntimeException e) {
      // Confluent catches this and answers "Unexpected exception during compatibility check".
      ObjectNode node = found.addObject();
      node.put("type", "EXCEPTION");
      node.put("location", "/");
      node.put("message", describe(e));
      node.put("reader", readerLabel);
      node.put("writer", writerLabel);
    }
  }
}
