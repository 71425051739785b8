using System.Text;

namespace EventDaemon.Stages.Expressions.Internal;

/// <summary>
/// Flattens a checked syntax tree into jump-threaded tests: every comparison, <c>in</c> or call
/// becomes one <see cref="Instruction"/> whose two targets encode the surrounding
/// <c>&amp;&amp;</c>, <c>||</c> and <c>!</c>; the literals true and false become plain jumps.
/// </summary>
internal sealed class ProgramBuilder
{
    private readonly List<Instruction> _code = [];
    private readonly List<LiteralValue> _literals = [];
    private readonly List<byte[]> _fieldNames = [];
    private readonly Dictionary<string, int> _fieldIndex = new(StringComparer.Ordinal);
    private readonly List<InList> _lists = [];

    public static FilterProgram Build(string source, SyntaxNode root)
    {
        var builder = new ProgramBuilder();
        int entry = builder.Emit(root, Instruction.Accept, Instruction.Reject);

        Instruction[] code = builder.Link(ref entry);
        var canonical = new StringBuilder();
        root.Render(canonical);
        return new FilterProgram(
            source,
            canonical.ToString(),
            code,
            entry,
            [.. builder._literals],
            [.. builder._fieldNames],
            [.. builder._lists]);
    }

    /// <summary>
    /// Drops tests no path reaches (those behind a constant, as in <c>true || x</c>) and renumbers
    /// the rest. A test is emitted after the tests it jumps to, because its targets must exist
    /// first, so emission order runs right to left; reversed, the program reads in source order.
    /// </summary>
    private Instruction[] Link(ref int entry)
    {
        int n = _code.Count;
        var reachable = new bool[n];
        var pending = new Stack<int>();
        if (entry >= 0)
        {
            pending.Push(entry);
        }

        while (pending.Count > 0)
        {
            int i = pending.Pop();
            if (reachable[i])
            {
                continue;
            }

            reachable[i] = true;
            if (_code[i].OnTrue >= 0)
            {
                pending.Push(_code[i].OnTrue);
            }

            if (_code[i].OnFalse >= 0)
            {
                pending.Push(_code[i].OnFalse);
            }
        }

        var newIndex = new int[n];
        int count = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            newIndex[i] = reachable[i] ? count++ : -1;
        }

        var code = new Instruction[count];
        for (int i = 0; i < n; i++)
        {
            if (reachable[i])
            {
                Instruction ins = _code[i];
                code[newIndex[i]] = ins.WithTargets(Relink(ins.OnTrue), Relink(ins.OnFalse));
            }
        }

        entry = Relink(entry);
        return code;

        int Relink(int target) => target < 0 ? target : newIndex[target];
    }

    /// <summary>Emits <paramref name="node"/>; returns the index of its first test (or a final target for a constant).</summary>
    private int Emit(SyntaxNode node, int onTrue, int onFalse)
    {
        switch (node)
        {
            case LiteralNode literal:
                return literal.Kind == ScalarKind.True ? onTrue : onFalse;
            case NotNode not:
                return Emit(not.Operand, onFalse, onTrue);
            case LogicalNode logical:
                {
                    int next = logical.IsAnd ? onTrue : onFalse;
                    for (int i = logical.Operands.Count - 1; i >= 0; i--)
                    {
                        next = logical.IsAnd
                            ? Emit(logical.Operands[i], next, onFalse)
                            : Emit(logical.Operands[i], onTrue, next);
                    }

                    return next;
                }

            case CompareNode compare:
                return EmitCompare(compare, onTrue, onFalse);
            case InNode inNode:
                {
                    var list = new InList(inNode.Items.ConvertAll(ToLiteralValue));
                    _lists.Add(list);
                    return Add(new Instruction(InstructionKind.In, default, ToOperand(inNode.Left), default, _lists.Count - 1, onTrue, onFalse));
                }

            case CallNode call:
                {
                    InstructionKind kind = call.Function switch
                    {
                        FunctionKind.StartsWith => InstructionKind.StartsWith,
                        FunctionKind.Contains => InstructionKind.Contains,
                        _ => InstructionKind.Exists,
                    };
                    Operand right = call.Arguments.Length > 1 ? ToOperand(call.Arguments[1]) : default;
                    return Add(new Instruction(kind, default, ToOperand(call.Arguments[0]), right, 0, onTrue, onFalse));
                }

            default:
                throw new InvalidOperationException($"unexpected {node.GetType().Name} where a condition was checked");
        }
    }

    private int EmitCompare(CompareNode compare, int onTrue, int onFalse)
    {
        SyntaxNode left = compare.Left;
        SyntaxNode right = compare.Right;
        CompareOp op = compare.Op;

        // Put a literal on the right so the specialised forms need only one shape.
        if (left is LiteralNode && right is OperandNode)
        {
            (left, right) = (right, left);
            op = Mirror(op);
        }

        var kind = InstructionKind.Compare;
        if (left is OperandNode operand && right is LiteralNode literal)
        {
            if (op is CompareOp.Equal or CompareOp.NotEqual && literal.Kind == ScalarKind.String)
            {
                kind = operand.Kind switch
                {
                    OperandKind.Type => InstructionKind.TypeEqualsString,
                    OperandKind.Key => InstructionKind.KeyEqualsString,
                    _ => kind,
                };
            }
            else if (operand.Kind == OperandKind.Value && literal.Kind == ScalarKind.Number)
            {
                kind = InstructionKind.ValueCompareNumber;
            }
        }

        return Add(new Instruction(kind, op, ToOperand(left), ToOperand(right), 0, onTrue, onFalse));
    }

    private static CompareOp Mirror(CompareOp op) => op switch
    {
        CompareOp.Less => CompareOp.Greater,
        CompareOp.LessOrEqual => CompareOp.GreaterOrEqual,
        CompareOp.Greater => CompareOp.Less,
        CompareOp.GreaterOrEqual => CompareOp.LessOrEqual,
        _ => op,
    };

    private int Add(Instruction instruction)
    {
        _code.Add(instruction);
        return _code.Count - 1;
    }

    private Operand ToOperand(SyntaxNode node)
    {
        switch (node)
        {
            case OperandNode { Kind: OperandKind.Field } field:
                if (!_fieldIndex.TryGetValue(field.FieldName!, out int index))
                {
                    index = _fieldNames.Count;
                    _fieldNames.Add(Encoding.UTF8.GetBytes(field.FieldName!));
                    _fieldIndex.Add(field.FieldName!, index);
                }

                return new Operand(OperandKind.Field, index);
            case OperandNode operand:
                return new Operand(operand.Kind, 0);
            case LiteralNode literal:
                _literals.Add(ToLiteralValue(literal));
                return new Operand(OperandKind.Literal, _literals.Count - 1);
            default:
                throw new InvalidOperationException($"unexpected {node.GetType().Name} where a value was checked");
        }
    }

    private static LiteralValue ToLiteralValue(LiteralNode literal) => new(
        literal.Kind,
        literal.Kind == ScalarKind.String ? Encoding.UTF8.GetBytes(literal.Text!) : null,
        literal.Number,
        literal.Integer,
        literal.IsInteger);
}
